using Aim.Biscuit.Datalog;
using Aim.Biscuit.Parser;

namespace Aim.Biscuit;

/// <summary>
/// Collects the Datalog content of a new block (authority, attenuation or third-party block).
/// Methods return the builder so calls chain. Not thread-safe.
/// </summary>
public sealed class BlockBuilder
{
    internal List<Fact> Facts { get; } = [];
    internal List<Rule> Rules { get; } = [];
    internal List<Check> Checks { get; } = [];
    internal List<Scope> Scopes { get; } = [];

    /// <summary>Free-form context stored in the block, or null.</summary>
    public string? Context { get; set; }

    /// <summary>Adds a fact.</summary>
    /// <exception cref="BiscuitLanguageException">The fact contains variables.</exception>
    public BlockBuilder AddFact(Fact fact)
    {
        if (fact.Predicate.Terms.Any(t => t.HasVariables)) throw new BiscuitLanguageException("facts cannot contain variables");
        Facts.Add(fact);
        return this;
    }

    /// <summary>Adds a rule.</summary>
    /// <exception cref="BiscuitLanguageException">The head uses variables the body does not bind.</exception>
    public BlockBuilder AddRule(Rule rule)
    {
        ValidateRule(rule);
        Rules.Add(rule);
        return this;
    }

    /// <summary>Adds a check.</summary>
    public BlockBuilder AddCheck(Check check)
    {
        Checks.Add(check);
        return this;
    }

    /// <summary>Adds a block-level <c>trusting</c> scope.</summary>
    public BlockBuilder AddScope(Scope scope)
    {
        Scopes.Add(scope);
        return this;
    }

    /// <summary>Parses Datalog source (facts, rules, checks, <c>trusting</c>) and adds its statements. Policies are refused.</summary>
    /// <exception cref="BiscuitLanguageException">Syntax error, missing parameter, or an invalid rule.</exception>
    public BlockBuilder AddCode(string code, IReadOnlyDictionary<string, Term>? parameters = null, IReadOnlyDictionary<string, PublicKey>? scopeParameters = null)
    {
        var source = DatalogParser.Parse(code, allowPolicies: false, parameters, scopeParameters);
        foreach (var f in source.Facts) AddFact(f);
        foreach (var r in source.Rules) AddRule(r);
        foreach (var c in source.Checks) AddCheck(c);
        foreach (var s in source.Scopes) AddScope(s);
        return this;
    }

    internal static void ValidateRule(Rule rule)
    {
        var unbound = rule.UnboundHeadVariables().ToList();
        if (unbound.Count > 0)
            throw new BiscuitLanguageException($"rule head variables are not bound by its body: {string.Join(", ", unbound.Select(v => "$" + v))}");
    }

    /// <summary>The block's Datalog source.</summary>
    public override string ToString() => Block.Print(Scopes, Facts, Rules, Checks);
}
