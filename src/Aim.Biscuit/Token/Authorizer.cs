using System.Text;
using Aim.Biscuit.Datalog;
using Aim.Biscuit.Parser;

namespace Aim.Biscuit;

/// <summary>Facts of the authorizer world that share one origin.</summary>
/// <param name="Origin">Block ids the facts came from, sorted; null stands for the authorizer and sorts first.</param>
/// <param name="Facts">The facts, printed and sorted.</param>
public sealed record WorldFacts(IReadOnlyList<ulong?> Origin, IReadOnlyList<string> Facts);

/// <summary>Rules or checks of the authorizer world that come from one block.</summary>
/// <param name="Origin">Block id; <see cref="ulong.MaxValue"/> stands for the authorizer.</param>
/// <param name="Items">The rules or checks, printed and sorted.</param>
public sealed record WorldStatements(ulong Origin, IReadOnlyList<string> Items);

/// <summary>A printable snapshot of an authorizer's world after evaluation.</summary>
/// <param name="Facts">Facts grouped by origin.</param>
/// <param name="Rules">Rules grouped by block.</param>
/// <param name="Checks">Checks grouped by block.</param>
/// <param name="Policies">Policies, in order.</param>
public sealed record AuthorizerWorld(IReadOnlyList<WorldFacts> Facts, IReadOnlyList<WorldStatements> Rules,
    IReadOnlyList<WorldStatements> Checks, IReadOnlyList<string> Policies)
{
    /// <summary>Multi-line text form.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("facts:\n");
        foreach (var f in Facts)
            foreach (var fact in f.Facts)
                sb.Append("  ").Append(fact).Append("  // from ").Append(string.Join(", ", f.Origin.Select(o => o?.ToString() ?? "authorizer"))).Append('\n');
        sb.Append("rules:\n");
        foreach (var r in Rules) foreach (var rule in r.Items) sb.Append("  ").Append(rule).Append("  // block ").Append(Name(r.Origin)).Append('\n');
        sb.Append("checks:\n");
        foreach (var c in Checks) foreach (var check in c.Items) sb.Append("  ").Append(check).Append("  // block ").Append(Name(c.Origin)).Append('\n');
        sb.Append("policies:\n");
        foreach (var p in Policies) sb.Append("  ").Append(p).Append('\n');
        return sb.ToString();
    }

    private static string Name(ulong origin) => origin == ulong.MaxValue ? "authorizer" : origin.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Decides whether a token is authorized: holds the authorizer's facts, rules, checks and policies and
/// at most one token, runs the Datalog engine under <see cref="Limits"/>, evaluates checks then policies.
/// Not thread-safe: use one authorizer per request.
/// </summary>
public sealed class Authorizer
{
    private readonly List<Fact> _facts = [];
    private readonly List<Rule> _rules = [];
    private readonly List<Check> _checks = [];
    private readonly List<Policy> _policies = [];
    private readonly List<Scope> _scopes = [];
    private readonly Dictionary<string, ExternFunction> _externs = new(StringComparer.Ordinal);
    private BiscuitToken? _token;
    private World? _world;
    private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _runError;

    /// <summary>Run limits for evaluation (default: the specification's 1000 facts, 100 iterations, 1 ms).</summary>
    public RunLimits Limits { get; set; } = RunLimits.Default;

    /// <summary>Clock used to enforce <see cref="RunLimits.MaxTime"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The token under authorization, or null.</summary>
    public BiscuitToken? Token => _token;

    /// <summary>Registers an <c>extern::name</c> function callable from Datalog.</summary>
    public Authorizer RegisterExtern(string name, ExternFunction function)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(function);
        _externs[name] = function;
        Invalidate();
        return this;
    }

    /// <summary>Parses authorizer source (facts, rules, checks, policies, <c>trusting</c>) and adds it.</summary>
    /// <exception cref="BiscuitLanguageException">Syntax error, missing parameter or invalid rule.</exception>
    public Authorizer AddCode(string code, IReadOnlyDictionary<string, Term>? parameters = null, IReadOnlyDictionary<string, PublicKey>? scopeParameters = null)
    {
        ArgumentNullException.ThrowIfNull(code);
        var source = parameters is null or { Count: 0 } && scopeParameters is null or { Count: 0 }
            ? ParsedCode.Get(code)
            : ParsedCode.Parse(code, parameters, scopeParameters);
        _facts.AddRange(source.Facts);
        _rules.AddRange(source.Rules);
        _checks.AddRange(source.Checks);
        _policies.AddRange(source.Policies);
        _scopes.AddRange(source.Scopes);
        Invalidate();
        return this;
    }

    /// <summary>Adds a fact.</summary>
    public Authorizer AddFact(Fact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        foreach (var t in fact.Predicate.RawTerms)
            if (t.HasVariables) throw new BiscuitLanguageException("facts cannot contain variables");
        _facts.Add(fact);
        Invalidate();
        return this;
    }

    /// <summary>Adds a rule.</summary>
    public Authorizer AddRule(Rule rule)
    {
        BlockBuilder.ValidateRule(rule);
        _rules.Add(rule);
        Invalidate();
        return this;
    }

    /// <summary>Adds a check.</summary>
    public Authorizer AddCheck(Check check)
    {
        _checks.Add(check);
        Invalidate();
        return this;
    }

    /// <summary>Adds a policy (evaluated in insertion order).</summary>
    public Authorizer AddPolicy(Policy policy)
    {
        _policies.Add(policy);
        Invalidate();
        return this;
    }

    /// <summary>Adds the token to authorize. Only verified tokens are accepted, and only one.</summary>
    /// <exception cref="BiscuitLogicException"><see cref="LogicErrorKind.AuthorizerNotEmpty"/> when a token is already present.</exception>
    /// <exception cref="InvalidOperationException">The token was parsed without verification.</exception>
    public Authorizer AddToken(BiscuitToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_token is not null) throw BiscuitLogicException.AuthorizerNotEmpty();
        if (!token.IsVerified) throw new InvalidOperationException("the token was not verified with a root key");
        _token = token;
        Invalidate();
        return this;
    }

    /// <summary>
    /// Authorizer source, parsed and validated. Every element is immutable, so one parse serves every
    /// authorizer built from the same text (a server adds the same policy code to each request).
    /// </summary>
    private sealed record ParsedCode(Fact[] Facts, Rule[] Rules, Check[] Checks, Policy[] Policies, Scope[] Scopes)
    {
        private const int CacheLimit = 256;
        private const int MaxCachedLength = 16 * 1024;
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ParsedCode> Cache = new(StringComparer.Ordinal);

        /// <summary>The parse of <paramref name="code"/> without parameters, remembered (bounded).</summary>
        internal static ParsedCode Get(string code)
        {
            if (Cache.TryGetValue(code, out var cached)) return cached;
            var parsed = Parse(code, null, null);
            if (code.Length <= MaxCachedLength)
            {
                // Crude bound: start over when full (hostile callers cannot grow it without limit).
                if (Cache.Count >= CacheLimit) Cache.Clear();
                Cache.TryAdd(code, parsed);
            }
            return parsed;
        }

        /// <exception cref="BiscuitLanguageException">Syntax error, missing parameter or invalid rule.</exception>
        internal static ParsedCode Parse(string code, IReadOnlyDictionary<string, Term>? parameters, IReadOnlyDictionary<string, PublicKey>? scopeParameters)
        {
            var source = DatalogParser.Parse(code, allowPolicies: true, parameters, scopeParameters);
            foreach (var r in source.Rules) BlockBuilder.ValidateRule(r);
            return new ParsedCode([.. source.Facts], [.. source.Rules], [.. source.Checks], [.. source.Policies], [.. source.Scopes]);
        }
    }

    private static int _warmedUp;

    /// <summary>
    /// Builds, parses and authorizes one small token (rules, checks, expressions, a regex) with a generous
    /// time budget, so the JIT compiles the hot paths. A cold process otherwise spends about 100 ms in its
    /// first authorization, which the 1 ms default limit cannot absorb. Call once at start-up; later calls
    /// return immediately. Thread-safe.
    /// </summary>
    public static void WarmUp()
    {
        if (Interlocked.Exchange(ref _warmedUp, 1) == 1) return;
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder()
            .AddCode("right(\"r\", \"read\"); owner($u, $r) <- user($u), right($r, \"read\"); check if time($t), $t < 2100-01-01T00:00:00Z;")
            .Build(root)
            .Attenuate(new BlockBuilder().AddCode("check if resource($r), $r.matches(\"^r$\") && [1].any($x -> $x > 0);"));
        var parsed = BiscuitToken.FromBytes(token.ToBytes(), root.PublicKey);
        new Authorizer { Limits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(30) } }
            .AddCode("user(\"u\"); resource(\"r\"); time(2026-01-01T00:00:00Z); allow if owner(\"u\", \"r\");")
            .AddToken(parsed)
            .Authorize();
    }

    private void Invalidate()
    {
        _world = null;
        _runError = null;
    }

    private IReadOnlyDictionary<PublicKey, List<ulong>> BlocksByKey => _token?.BlocksByExternalKey ?? new Dictionary<PublicKey, List<ulong>>();

    private TrustedOrigins AuthorizerTrust() =>
        TrustedOrigins.FromScopes(_scopes, TrustedOrigins.Default(), Origin.Authorizer, BlocksByKey);

    private TrustedOrigins BlockTrust(int blockId) =>
        TrustedOrigins.FromScopes(_token!.Blocks[blockId].Scopes, TrustedOrigins.Default(), (ulong)blockId, BlocksByKey);

    /// <summary>Loads facts and rules into a fresh world and runs it to a fixpoint.</summary>
    private World Evaluate(Deadline? deadline = null)
    {
        if (_world is not null)
        {
            // A world whose evaluation failed is never used for decisions (fail closed).
            _runError?.Throw();
            return _world;
        }
        var world = new World(_externs, TimeProvider);
        var authorizerOrigin = Origin.Of(Origin.Authorizer);
        var factCount = _facts.Count;
        if (_token is not null) foreach (var b in _token.Blocks) factCount += b.Facts.Count;
        world.Facts.EnsureCapacity(factCount);
        foreach (var f in _facts) world.Facts.Add(authorizerOrigin, f);
        var authorizerTrust = AuthorizerTrust();
        foreach (var r in _rules)
            world.Rules.Add(new WorldRule(Origin.Authorizer, TrustedOrigins.FromScopes(r.Scopes, authorizerTrust, Origin.Authorizer, BlocksByKey), r));

        if (_token is not null)
        {
            for (var i = 0; i < _token.Blocks.Count; i++)
            {
                var block = _token.Blocks[i];
                var origin = Origin.Of((ulong)i);
                foreach (var f in block.Facts) world.Facts.Add(origin, f);
                var blockTrust = BlockTrust(i);
                foreach (var r in block.Rules)
                {
                    if (r.UnboundHeadVariables().Any())
                        throw BiscuitLogicException.InvalidBlockRule(i == 0 ? 0 : i - 1, r.ToString());
                    world.Rules.Add(new WorldRule((ulong)i, TrustedOrigins.FromScopes(r.Scopes, blockTrust, (ulong)i, BlocksByKey), r));
                }
            }
        }
        _world = world;
        try
        {
            world.Run(Limits, deadline ?? world.StartDeadline(Limits));
        }
        catch (BiscuitException e)
        {
            _runError = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            throw;
        }
        return world;
    }

    /// <summary>
    /// Runs the authorization: evaluates the world, all checks (authorizer first, then each block's), then
    /// policies in order.
    /// </summary>
    /// <returns>The index of the allow policy that matched.</returns>
    /// <exception cref="BiscuitLogicException">Checks failed, a deny policy matched, no policy matched, or a block rule is invalid.</exception>
    /// <exception cref="BiscuitExecutionException">An expression failed (overflow, type error, ...).</exception>
    /// <exception cref="BiscuitRunLimitException">A run limit was reached.</exception>
    public int Authorize()
    {
        // One time budget for the whole decision, so many cheap-looking checks cannot add up.
        var deadline = new Deadline(TimeProvider, Limits.MaxTime);
        var world = Evaluate(deadline);
        var failed = new List<FailedCheck>();
        var authorizerTrust = AuthorizerTrust();
        for (var i = 0; i < _checks.Count; i++)
            if (!CheckPasses(world, _checks[i], authorizerTrust, Origin.Authorizer, deadline))
                failed.Add(new FailedAuthorizerCheck(i, _checks[i].ToString()));

        // biscuit-rust's order: authorizer checks, authority checks, policies, then the other blocks' checks. It decides
        // which error surfaces first when several would; failed checks are still listed authorizer, then block by block.
        if (_token is not null)
            AddFailedBlockChecks(world, 0, failed, deadline);

        MatchedPolicy? matched = null;
        for (var i = 0; i < _policies.Count && matched is null; i++)
        {
            foreach (var q in _policies[i].Queries)
            {
                if (world.QueryMatch(q, TrustedOrigins.FromScopes(q.Scopes, authorizerTrust, Origin.Authorizer, BlocksByKey), deadline))
                {
                    matched = new MatchedPolicy(_policies[i].Kind, i);
                    break;
                }
            }
        }

        if (_token is not null)
            for (var b = 1; b < _token.Blocks.Count; b++)
                AddFailedBlockChecks(world, b, failed, deadline);

        return matched switch
        {
            { Kind: PolicyKind.Allow } m when failed.Count == 0 => m.Index,
            { } m => throw BiscuitLogicException.Unauthorized(m, failed),
            null => throw BiscuitLogicException.NoMatchingPolicy(failed),
        };
    }

    private void AddFailedBlockChecks(World world, int block, List<FailedCheck> failed, Deadline deadline)
    {
        var checks = _token!.Blocks[block].Checks;
        var trust = BlockTrust(block);
        for (var c = 0; c < checks.Count; c++)
            if (!CheckPasses(world, checks[c], trust, (ulong)block, deadline))
                failed.Add(new FailedBlockCheck(block, c, checks[c].ToString()));
    }

    private bool CheckPasses(World world, Check check, TrustedOrigins defaults, ulong blockId, Deadline deadline)
    {
        foreach (var q in check.Queries)
        {
            var trust = TrustedOrigins.FromScopes(q.Scopes, defaults, blockId, BlocksByKey);
            switch (check.Kind)
            {
                case CheckKind.One when world.QueryMatch(q, trust, deadline): return true;
                case CheckKind.All when world.CheckMatchAll(q, trust, deadline): return true;
                case CheckKind.Reject when world.QueryMatch(q, trust, deadline): return false;
            }
        }
        return check.Kind == CheckKind.Reject;
    }

    /// <summary>
    /// Runs a query over facts from the authorizer and the authority block (or what the rule's
    /// <c>trusting</c> scopes name) and returns the facts its head produces.
    /// </summary>
    public IReadOnlyList<Fact> Query(Rule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var world = Evaluate();
        return [.. world.Query(rule, TrustedOrigins.FromScopes(rule.Scopes, AuthorizerTrust(), Origin.Authorizer, BlocksByKey), world.StartDeadline(Limits))];
    }

    /// <summary>Parses <paramref name="rule"/> then runs <see cref="Query(Rule)"/>.</summary>
    public IReadOnlyList<Fact> Query(string rule, IReadOnlyDictionary<string, Term>? parameters = null) => Query(DatalogParser.ParseRule(rule, parameters));

    /// <summary>Runs a query over facts from every block of the token and the authorizer.</summary>
    public IReadOnlyList<Fact> QueryAll(Rule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var world = Evaluate();
        var scopes = new List<Scope> { Scope.Previous };
        var last = _token is null ? 0UL : (ulong)(_token.Blocks.Count - 1);
        return [.. world.Query(rule, TrustedOrigins.FromScopes(scopes, TrustedOrigins.Default(), last, BlocksByKey), world.StartDeadline(Limits))];
    }

    /// <summary>Evaluates the world (if needed) and returns a printable snapshot.</summary>
    /// <exception cref="BiscuitException">Evaluation failed.</exception>
    public AuthorizerWorld DumpWorld() => Snapshot(Evaluate());

    /// <summary>A snapshot of the authorizer content; facts are included only once the world was evaluated.</summary>
    public AuthorizerWorld Snapshot() => Snapshot(_world);

    private AuthorizerWorld Snapshot(World? world)
    {
        var facts = new List<WorldFacts>();
        if (world is not null)
        {
            facts = world.Facts.All
                .GroupBy(e => e.Item1)
                .Select(g => new WorldFacts(
                    g.Key.Ids.Select(id => id == Origin.Authorizer ? (ulong?)null : id).OrderBy(o => o.HasValue).ThenBy(o => o).ToList(),
                    g.Select(e => e.Item2.ToString()).Order(StringComparer.Ordinal).ToList()))
                .OrderBy(f => f.Origin, OriginComparer.Instance)
                .ToList();
        }

        var rules = new List<(ulong, string)>();
        rules.AddRange(_rules.Select(r => (Origin.Authorizer, r.ToString())));
        var checks = new List<(ulong, string)>();
        checks.AddRange(_checks.Select(c => (Origin.Authorizer, c.ToString())));
        if (_token is not null)
        {
            for (var i = 0; i < _token.Blocks.Count; i++)
            {
                rules.AddRange(_token.Blocks[i].Rules.Select(r => ((ulong)i, r.ToString())));
                checks.AddRange(_token.Blocks[i].Checks.Select(c => ((ulong)i, c.ToString())));
            }
        }
        return new AuthorizerWorld(facts, Group(rules), Group(checks), _policies.Select(p => p.ToString()).ToList());
    }

    private static List<WorldStatements> Group(List<(ulong Origin, string Text)> items) =>
        items.GroupBy(i => i.Origin).OrderBy(g => g.Key)
            .Select(g => new WorldStatements(g.Key, g.Select(i => i.Text).Order(StringComparer.Ordinal).ToList())).ToList();

    private sealed class OriginComparer : IComparer<IReadOnlyList<ulong?>>
    {
        internal static readonly OriginComparer Instance = new();

        public int Compare(IReadOnlyList<ulong?>? x, IReadOnlyList<ulong?>? y)
        {
            for (var i = 0; i < Math.Min(x!.Count, y!.Count); i++)
            {
                var (a, b) = (x[i], y[i]);
                if (a == b) continue;
                if (a is null) return -1;
                if (b is null) return 1;
                return a.Value.CompareTo(b.Value);
            }
            return x.Count.CompareTo(y.Count);
        }
    }
}
