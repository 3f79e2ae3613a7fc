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

    /// <summary>The lowest block version able to carry this content.</summary>
    internal static uint RequiredVersion(IEnumerable<Fact> facts, IEnumerable<Rule> rules, IEnumerable<Check> checks,
        IReadOnlyList<Scope> scopes, bool thirdParty)
    {
        var v4 = scopes.Count > 0;
        var v6 = false;
        void VisitRule(Rule r)
        {
            v4 |= r.Scopes.Count > 0;
            v6 |= UsesV6Terms(r.Head.Terms);
            foreach (var p in r.Body) v6 |= UsesV6Terms(p.Terms);
            foreach (var e in r.Expressions) VisitOps(e.Ops);
        }
        void VisitOps(IReadOnlyList<Op> ops)
        {
            foreach (var op in ops)
            {
                switch (op)
                {
                    case ValueOp v: v6 |= UsesV6Term(v.Value); break;
                    case ClosureOp c: v6 = true; VisitOps(c.Ops); break;
                    case UnaryOp { Kind: UnaryKind.TypeOf or UnaryKind.Ffi }: v6 = true; break;
                    case BinaryOp b:
                        switch (b.Kind)
                        {
                            case BinaryKind.BitwiseAnd or BinaryKind.BitwiseOr or BinaryKind.BitwiseXor or BinaryKind.NotEqual:
                                v4 = true; break;
                            case BinaryKind.HeterogeneousEqual or BinaryKind.HeterogeneousNotEqual or BinaryKind.LazyAnd or BinaryKind.LazyOr
                                or BinaryKind.All or BinaryKind.Any or BinaryKind.Get or BinaryKind.Ffi:
                                v6 = true; break;
                        }
                        break;
                }
            }
        }
        foreach (var f in facts) v6 |= UsesV6Terms(f.Predicate.Terms);
        foreach (var r in rules) VisitRule(r);
        foreach (var c in checks)
        {
            if (c.Kind == CheckKind.All) v4 = true;
            if (c.Kind == CheckKind.Reject) v6 = true;
            foreach (var q in c.Queries) VisitRule(q);
        }
        if (v6) return 6;
        if (thirdParty) return 5;
        return v4 ? 4u : 3u;
    }

    private static bool UsesV6Terms(IReadOnlyList<Term> terms)
    {
        for (var i = 0; i < terms.Count; i++)
            if (UsesV6Term(terms[i])) return true;
        return false;
    }

    private static bool UsesV6Term(Term term) => term switch
    {
        NullTerm or ArrayTerm or MapTerm => true,
        SetTerm s => UsesV6Terms(s.Items),
        _ => false,
    };
}
