namespace Aim.Biscuit.Datalog;

/// <summary>Facts tagged with their origin, indexed by predicate name.</summary>
internal sealed class FactSet
{
    private readonly HashSet<(Origin, Fact)> _all = [];
    private readonly Dictionary<string, List<(Origin Origin, Fact Fact)>> _byName = new(StringComparer.Ordinal);

    internal int Count => _all.Count;

    /// <summary>Sizes the set for <paramref name="count"/> facts up front (no rehashing while a world is loaded).</summary>
    internal void EnsureCapacity(int count) => _all.EnsureCapacity(count);

    internal bool Add(Origin origin, Fact fact)
    {
        if (!_all.Add((origin, fact))) return false;
        if (!_byName.TryGetValue(fact.Predicate.Name, out var list))
            _byName[fact.Predicate.Name] = list = [];
        list.Add((origin, fact));
        return true;
    }

    internal bool Contains(Origin origin, Fact fact) => _all.Contains((origin, fact));

    internal IReadOnlyList<(Origin Origin, Fact Fact)> ByName(string name) =>
        _byName.TryGetValue(name, out var list) ? list : [];

    internal IEnumerable<(Origin Origin, Fact Fact)> All => _all;
}

/// <summary>A rule loaded in the world with the block it came from and the origins it trusts.</summary>
internal sealed record WorldRule(ulong BlockId, TrustedOrigins Trusted, Rule Rule);

/// <summary>
/// The Datalog engine: facts, rules, fixpoint evaluation under <see cref="RunLimits"/>, and queries.
/// It knows nothing about tokens.
/// </summary>
internal sealed class World(IReadOnlyDictionary<string, ExternFunction>? externs = null, TimeProvider? time = null)
{
    private const int TimeCheckInterval = 256;
    private readonly ExpressionEvaluator _evaluator = new(externs);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    internal FactSet Facts { get; } = new();

    internal List<WorldRule> Rules { get; } = [];

    /// <summary>Rounds run by the last <see cref="Run"/>.</summary>
    internal int Iterations { get; private set; }

    /// <summary>Applies rules until no new fact appears.</summary>
    /// <exception cref="BiscuitRunLimitException">A limit was reached.</exception>
    /// <exception cref="BiscuitExecutionException">An expression failed.</exception>
    internal void Run(RunLimits limits, Deadline deadline)
    {
        Iterations = 0;
        if (Facts.Count > limits.MaxFacts) throw new BiscuitRunLimitException(RunLimitKind.TooManyFacts);
        if (Rules.Count == 0) return;
        while (true)
        {
            var newFacts = new HashSet<(Origin, Fact)>();
            foreach (var rule in Rules)
            {
                var blockOrigin = Origin.Of(rule.BlockId);
                foreach (var (origin, bindings) in Match(rule.Rule, rule.Trusted, deadline))
                {
                    var head = Substitute(rule.Rule.Head, bindings);
                    var fact = new Fact(head);
                    var factOrigin = origin is null ? blockOrigin : origin.Union(blockOrigin);
                    if (!Facts.Contains(factOrigin, fact) && newFacts.Add((factOrigin, fact)) && newFacts.Count + Facts.Count > limits.MaxFacts)
                        throw new BiscuitRunLimitException(RunLimitKind.TooManyFacts);
                }
                deadline.Check();
            }

            var added = 0;
            foreach (var (o, f) in newFacts)
                if (Facts.Add(o, f)) added++;
            if (added == 0) break;
            Iterations++;
            if (Iterations >= limits.MaxIterations) throw new BiscuitRunLimitException(RunLimitKind.TooManyIterations);
            if (Facts.Count >= limits.MaxFacts) throw new BiscuitRunLimitException(RunLimitKind.TooManyFacts);
        }
    }

    /// <summary>True when some match of the query's body satisfies all its expressions.</summary>
    internal bool QueryMatch(Rule query, TrustedOrigins trusted, Deadline deadline)
    {
        deadline.Check();
        foreach (var _ in Match(query, trusted, deadline)) return true;
        return false;
    }

    /// <summary>True when the body matches at least once and every match satisfies all expressions.</summary>
    internal bool CheckMatchAll(Rule query, TrustedOrigins trusted, Deadline deadline)
    {
        deadline.Check();
        var found = false;
        foreach (var (_, bindings) in MatchBody(query, trusted, deadline))
        {
            found = true;
            if (!ExpressionsHold(query, bindings)) return false;
        }
        return found;
    }

    /// <summary>Facts the rule's head produces over facts the origins allow.</summary>
    internal HashSet<Fact> Query(Rule rule, TrustedOrigins trusted, Deadline deadline)
    {
        var result = new HashSet<Fact>();
        foreach (var (_, bindings) in Match(rule, trusted, deadline))
            result.Add(new Fact(Substitute(rule.Head, bindings)));
        return result;
    }

    private IEnumerable<(Origin? Origin, Dictionary<string, Term> Bindings)> Match(Rule rule, TrustedOrigins trusted, Deadline deadline)
    {
        foreach (var m in MatchBody(rule, trusted, deadline))
            if (ExpressionsHold(rule, m.Bindings)) yield return m;
    }

    private bool ExpressionsHold(Rule rule, Dictionary<string, Term> bindings)
    {
        foreach (var e in rule.Expressions)
            if (!_evaluator.EvaluateBool(e, bindings)) return false;
        return true;
    }

    /// <summary>Every combination of trusted facts matching the body predicates (a nested-loop join).</summary>
    private IEnumerable<(Origin? Origin, Dictionary<string, Term> Bindings)> MatchBody(Rule rule, TrustedOrigins trusted, Deadline deadline)
    {
        var body = rule.Body;
        if (body.Count == 0)
        {
            yield return (null, new Dictionary<string, Term>(StringComparer.Ordinal));
            yield break;
        }
        var candidates = new IReadOnlyList<(Origin Origin, Fact Fact)>[body.Count];
        for (var i = 0; i < body.Count; i++)
        {
            var list = Candidates(body[i], trusted);
            if (list.Count == 0) yield break;
            candidates[i] = list;
        }

        var bindings = new Dictionary<string, Term>(StringComparer.Ordinal);
        var origins = new Origin?[body.Count + 1];
        var positions = new int[body.Count];
        // Names bound so far, in binding order; boundFrom[level] is where that level's bindings start.
        var bound = new List<string>();
        var boundFrom = new int[body.Count];
        var level = 0;
        var steps = 0;

        positions[0] = -1;
        while (level >= 0)
        {
            // Undo bindings made at this level by the previous candidate.
            for (var b = bound.Count - 1; b >= boundFrom[level]; b--) bindings.Remove(bound[b]);
            bound.RemoveRange(boundFrom[level], bound.Count - boundFrom[level]);
            positions[level]++;
            if (positions[level] >= candidates[level].Count)
            {
                level--;
                continue;
            }
            if (++steps % TimeCheckInterval == 0) deadline.Check();
            var (origin, fact) = candidates[level][positions[level]];
            if (!Unify(body[level], fact, bindings, bound)) continue;
            origins[level + 1] = origins[level] is null ? origin : origins[level]!.Union(origin);
            if (level == body.Count - 1)
            {
                yield return (origins[level + 1], bindings);
                continue;
            }
            level++;
            positions[level] = -1;
            boundFrom[level] = bound.Count;
        }
    }

    /// <summary>
    /// Facts that may match <paramref name="pattern"/> and that <paramref name="trusted"/> allows. The
    /// predicate's own list is returned as is when nothing is filtered out (no copy in the common case).
    /// </summary>
    private IReadOnlyList<(Origin Origin, Fact Fact)> Candidates(Predicate pattern, TrustedOrigins trusted)
    {
        var all = Facts.ByName(pattern.Name);
        List<(Origin, Fact)>? filtered = null;
        for (var i = 0; i < all.Count; i++)
        {
            var entry = all[i];
            var keep = entry.Fact.Predicate.RawTerms.Length == pattern.RawTerms.Length && entry.Origin.IsSubsetOf(trusted) && CouldMatch(pattern, entry.Fact);
            if (keep)
            {
                filtered?.Add(entry);
            }
            else if (filtered is null)
            {
                filtered = [];
                for (var j = 0; j < i; j++) filtered.Add(all[j]);
            }
        }
        return filtered ?? all;
    }

    private static bool CouldMatch(Predicate pattern, Fact fact)
    {
        var terms = pattern.RawTerms;
        var values = fact.Predicate.RawTerms;
        for (var i = 0; i < terms.Length; i++)
            if (terms[i] is not VariableTerm && !terms[i].Equals(values[i])) return false;
        return true;
    }

    private static bool Unify(Predicate pattern, Fact fact, Dictionary<string, Term> bindings, List<string> boundNow)
    {
        var terms = pattern.RawTerms;
        var values = fact.Predicate.RawTerms;
        for (var i = 0; i < terms.Length; i++)
        {
            if (terms[i] is VariableTerm v)
            {
                if (bindings.TryGetValue(v.Name, out var existing))
                {
                    if (!existing.Equals(values[i])) return false;
                }
                else
                {
                    bindings[v.Name] = values[i];
                    boundNow.Add(v.Name);
                }
            }
            else if (!terms[i].Equals(values[i]))
            {
                return false;
            }
        }
        return true;
    }

    private static Predicate Substitute(Predicate head, Dictionary<string, Term> bindings)
    {
        var terms = new Term[head.RawTerms.Length];
        for (var i = 0; i < terms.Length; i++)
        {
            var t = head.RawTerms[i];
            terms[i] = t is VariableTerm v
                ? bindings.TryGetValue(v.Name, out var value) ? value : throw new BiscuitExecutionException(ExecutionErrorKind.UnknownVariable, v.Name)
                : t;
        }
        return new Predicate(head.Name, terms);
    }

    internal Deadline StartDeadline(RunLimits limits) => new(_time, limits.MaxTime);
}

/// <summary>The time budget of one authorization (evaluation, checks and policies together).</summary>
internal sealed class Deadline(TimeProvider time, TimeSpan budget)
{
    private readonly long _start = time.GetTimestamp();

    /// <exception cref="BiscuitRunLimitException">The budget is spent.</exception>
    internal void Check()
    {
        if (time.GetElapsedTime(_start) > budget) throw new BiscuitRunLimitException(RunLimitKind.Timeout);
    }
}
