using System.Text;
using Aim.Biscuit.Datalog;

namespace Aim.Biscuit;

/// <summary>
/// The Datalog content of one token block, decoded (strings resolved through the symbol tables).
/// </summary>
public sealed class Block
{
    internal Block(IReadOnlyList<Fact> facts, IReadOnlyList<Rule> rules, IReadOnlyList<Check> checks, IReadOnlyList<Scope> scopes,
        string? context, uint version, PublicKey? externalKey, IReadOnlyList<string> symbols, IReadOnlyList<PublicKey> publicKeys)
    {
        Facts = facts;
        Rules = rules;
        Checks = checks;
        Scopes = scopes;
        Context = context;
        Version = version;
        ExternalKey = externalKey;
        Symbols = symbols;
        PublicKeys = publicKeys;
    }

    /// <summary>Facts the block declares.</summary>
    public IReadOnlyList<Fact> Facts { get; }

    /// <summary>Rules the block declares.</summary>
    public IReadOnlyList<Rule> Rules { get; }

    /// <summary>Checks the block declares.</summary>
    public IReadOnlyList<Check> Checks { get; }

    /// <summary>Block-level <c>trusting</c> scopes (empty: the default).</summary>
    public IReadOnlyList<Scope> Scopes { get; }

    /// <summary>Free-form context string, or null.</summary>
    public string? Context { get; }

    /// <summary>Datalog format version of the block (3 to 6).</summary>
    public uint Version { get; }

    /// <summary>For a third-party block: the key that signed it; otherwise null.</summary>
    public PublicKey? ExternalKey { get; }

    /// <summary>Symbols this block added to the symbol table.</summary>
    public IReadOnlyList<string> Symbols { get; }

    /// <summary>Public keys this block added to the public key table.</summary>
    public IReadOnlyList<PublicKey> PublicKeys { get; }

    /// <summary>The block as Datalog source: scopes, facts, rules, then checks, one statement per line.</summary>
    public override string ToString() => Print(Scopes, Facts, Rules, Checks);

    internal static string Print(IReadOnlyList<Scope> scopes, IEnumerable<Fact> facts, IEnumerable<Rule> rules, IEnumerable<Check> checks)
    {
        var sb = new StringBuilder();
        if (scopes.Count > 0) sb.Append("trusting ").Append(string.Join(", ", scopes)).Append(";\n");
        foreach (var f in facts) sb.Append(f).Append(";\n");
        foreach (var r in rules) sb.Append(r).Append(";\n");
        foreach (var c in checks) sb.Append(c).Append(";\n");
        return sb.ToString();
    }

    /// <summary>
    /// The block version biscuit-rust (biscuit-auth 6.0, <c>get_schema_version</c>) writes for this content: 6 for
    /// <c>reject if</c>, <c>null</c> (a term or a set member), closures, <c>.type()</c>, <c>extern::</c> calls, <c>==</c>,
    /// <c>!=</c>, the short-circuiting <c>&amp;&amp;</c>/<c>||</c>, <c>.any()</c> and <c>.all()</c>; 4 for scopes,
    /// <c>check all</c>, bitwise operators and <c>!==</c>; otherwise 3 (arrays, maps and <c>.get()</c> included, which the
    /// written specification puts at 6); a third-party block is at least 5.
    /// </summary>
    internal static uint RequiredVersion(IEnumerable<Fact> facts, IEnumerable<Rule> rules, IEnumerable<Check> checks,
        IReadOnlyList<Scope> scopes, bool thirdParty)
    {
        var features = Features(facts, rules, checks, scopes);
        var version = features.V33 ? 6u : features.Scopes || features.V31 || features.CheckAll ? 4u : 3u;
        return thirdParty ? Math.Max(5u, version) : version;
    }

    /// <summary>
    /// Refuses what biscuit-rust refuses when it reads a block of a declared <paramref name="version"/> (already within
    /// 3..6): scopes, bitwise operators, <c>!==</c> or <c>check all</c> below 4 (and any explicit check kind in a version 3
    /// block), a third-party block below 5, and the version 6 features listed at <see cref="RequiredVersion"/> below 6.
    /// </summary>
    /// <exception cref="BiscuitFormatException"><see cref="FormatErrorKind.DeserializationError"/> with the reference's message.</exception>
    internal static void CheckCompatibility(uint version, IReadOnlyList<Fact> facts, IReadOnlyList<Rule> rules, IReadOnlyList<Check> checks,
        IReadOnlyList<Scope> scopes, bool explicitKindInV3, bool thirdParty)
    {
        if (version < 4)
        {
            foreach (var r in rules)
                if (r.Scopes.Count > 0) throw Incompatible("deserialization error: scopes are only supported in datalog v3.1+");
            foreach (var c in checks)
                foreach (var q in c.Queries)
                    if (q.Scopes.Count > 0) throw Incompatible("deserialization error: scopes are only supported in datalog v3.1+");
        }

        if (version < 6)
        {
            if (version < 4 && explicitKindInV3)
                throw Incompatible("deserialization error: check kinds are only supported on datalog v3.1+ blocks");
            foreach (var c in checks)
                if (c.Kind == CheckKind.Reject) throw Incompatible("deserialization error: reject if is only supported in datalog v3.3+");
        }

        if (version < 5 && thirdParty)
            throw Incompatible("deserialization error: third-party blocks are only supported in datalog v3.2+");

        var features = Features(facts, rules, checks, scopes);
        if (version < 4)
        {
            if (features.Scopes) throw Incompatible("scopes are only supported in datalog v3.1+");
            if (features.V31) throw Incompatible("bitwise operators and != are only supported in datalog v3.1+");
            if (features.CheckAll) throw Incompatible("check all is only supported in datalog v3.1+");
        }
        else if (version < 6 && features.V33)
        {
            throw Incompatible("maps, arrays, null, closures are only supported in datalog v3.3+");
        }
    }

    private static BiscuitFormatException Incompatible(string message) => new(FormatErrorKind.DeserializationError, message);

    private readonly record struct FeatureSet(bool Scopes, bool V31, bool CheckAll, bool V33);

    // The same walk as biscuit-rust's get_schema_version: only top-level ops of each expression, only null (directly or as a
    // set member) among terms.
    private static FeatureSet Features(IEnumerable<Fact> facts, IEnumerable<Rule> rules, IEnumerable<Check> checks, IReadOnlyList<Scope> scopes)
    {
        bool hasScopes = scopes.Count > 0, v31 = false, checkAll = false, v33 = false;
        void VisitRule(Rule r, bool withHead)
        {
            hasScopes |= r.Scopes.Count > 0;
            if (withHead) v33 |= HasNull(r.Head.Terms);
            foreach (var p in r.Body) v33 |= HasNull(p.Terms);
            foreach (var e in r.Expressions)
            {
                foreach (var op in e.Ops)
                {
                    switch (op)
                    {
                        case ValueOp v: v33 |= IsNullOrSetWithNull(v.Value); break;
                        case ClosureOp: v33 = true; break;
                        case UnaryOp { Kind: UnaryKind.TypeOf or UnaryKind.Ffi }: v33 = true; break;
                        case BinaryOp b:
                            switch (b.Kind)
                            {
                                case BinaryKind.BitwiseAnd or BinaryKind.BitwiseOr or BinaryKind.BitwiseXor or BinaryKind.NotEqual:
                                    v31 = true; break;
                                case BinaryKind.HeterogeneousEqual or BinaryKind.HeterogeneousNotEqual or BinaryKind.LazyAnd or BinaryKind.LazyOr
                                    or BinaryKind.All or BinaryKind.Any or BinaryKind.Ffi:
                                    v33 = true; break;
                            }
                            break;
                    }
                }
            }
        }
        foreach (var f in facts) v33 |= HasNull(f.Predicate.Terms);
        foreach (var r in rules) VisitRule(r, withHead: true);
        foreach (var c in checks)
        {
            if (c.Kind == CheckKind.All) checkAll = true;
            if (c.Kind == CheckKind.Reject) v33 = true;
            // Check queries: biscuit-rust looks at their bodies and expressions, not their heads.
            foreach (var q in c.Queries) VisitRule(q, withHead: false);
        }
        return new FeatureSet(hasScopes, v31, checkAll, v33);
    }

    private static bool HasNull(IReadOnlyList<Term> terms)
    {
        for (var i = 0; i < terms.Count; i++)
            if (IsNullOrSetWithNull(terms[i])) return true;
        return false;
    }

    private static bool IsNullOrSetWithNull(Term term) => term switch
    {
        NullTerm => true,
        SetTerm s => s.Items.Any(t => t is NullTerm),
        _ => false,
    };
}
