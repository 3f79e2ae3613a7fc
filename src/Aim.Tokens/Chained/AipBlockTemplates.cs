using Aim.Biscuit.Datalog;

namespace Aim.Tokens.Chained;

/// <summary>
/// The AIP block templates for chained tokens, and their canonical checks. Facts are the source of truth; every block's
/// checks must be exactly the canonical checks of its facts (the verifier compares them structurally, term by term).
/// <list type="bullet">
/// <item>authority: <c>identity(id)</c>, <c>right(scope)</c>…, <c>max_depth(n)</c>, <c>expires(date)</c>, optional
/// <c>budget_ceiling(cents)</c>, <c>subject(id)</c>, <c>issued_at(date)</c>; checks on <c>tool</c> and <c>time</c>.</item>
/// <item>delegation: <c>delegator(id)</c>, <c>delegate(id)</c>, <c>context(text)</c>, <c>right(scope)</c>…, optional
/// <c>budget_ceiling(cents)</c>, <c>expires(date)</c>; its own <c>tool</c> check and, with an expiry, a <c>time</c> check.
/// An ordinary appended (first-party) block by default, as AIP specifies; a third-party block signed by the delegator
/// when attested.</item>
/// <item>completion: <c>completed_by(id)</c>, <c>status(text)</c>, optional <c>result_hash(text)</c>, <c>cost(cents)</c>,
/// <c>tokens(n)</c>, <c>duration_ms(n)</c>; no checks. Appended, or signed by the holder when attested.</item>
/// </list>
/// </summary>
internal static class AipBlockTemplates
{
    public const string Identity = "identity";
    public const string Subject = "subject";
    public const string Right = "right";
    public const string MaxDepth = "max_depth";
    public const string Budget = "budget_ceiling";
    public const string Expires = "expires";
    public const string IssuedAt = "issued_at";
    public const string Delegator = "delegator";
    public const string Delegate = "delegate";
    public const string Context = "context";
    public const string CompletedBy = "completed_by";
    public const string Status = "status";
    public const string ResultHash = "result_hash";
    public const string Cost = "cost";
    public const string Tokens = "tokens";
    public const string DurationMs = "duration_ms";

    private const string ToolFact = "tool";
    private const string TimeFact = "time";
    private const string Variable = "t";

    private static readonly Predicate QueryHead = new("query", []);
    private static readonly Predicate ToolOfT = new(ToolFact, [Term.Variable(Variable)]);
    private static readonly Predicate TimeOfT = new(TimeFact, [Term.Variable(Variable)]);

    /// <summary>
    /// <c>check if tool($t), {literals}.contains($t) or tool($t), $t.starts_with("prefix:")…</c>: the literal scopes as one
    /// set, then one query per distinct pattern in ordinal order (built directly, no Datalog text is parsed).
    /// </summary>
    public static Check ToolCheck(IReadOnlyList<string> scopes)
    {
        var literals = new List<Term>();
        var patterns = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            if (AipScope.IsPattern(scope))
            {
                patterns.Add(scope);
            }
            else
            {
                literals.Add(Term.String(scope));
            }
        }

        var queries = new List<Rule>(1 + patterns.Count);
        if (literals.Count > 0)
        {
            queries.Add(Query(ToolOfT, new ValueOp(Term.Set(literals)), new ValueOp(Term.Variable(Variable)), new BinaryOp(BinaryKind.Contains)));
        }

        foreach (var pattern in patterns)
        {
            queries.Add(Query(ToolOfT, new ValueOp(Term.Variable(Variable)), new ValueOp(Term.String(pattern[..^1])), new BinaryOp(BinaryKind.Prefix)));
        }

        return new Check(CheckKind.One, queries);
    }

    /// <summary><c>check if time($t), $t &lt;= expires</c>.</summary>
    public static Check TimeCheck(DateTimeOffset expiresAt) =>
        new(CheckKind.One, [Query(TimeOfT, new ValueOp(Term.Variable(Variable)), new ValueOp(Term.Date(expiresAt)), new BinaryOp(BinaryKind.LessOrEqual))]);

    /// <summary>True when <paramref name="check"/> is exactly <see cref="ToolCheck"/> of <paramref name="scopes"/> (query heads aside).</summary>
    public static bool IsToolCheck(Check check, IReadOnlyList<string> scopes)
    {
        if (check.Kind != CheckKind.One)
        {
            return false;
        }

        var literalCount = CountDistinctLiterals(scopes);
        var queries = check.Queries;
        var q = 0;
        if (literalCount > 0)
        {
            if (queries.Count == 0 || !IsQueryOn(queries[0], ToolFact, out var ops) || ops.Count != 3 ||
                ops[0] is not ValueOp { Value: SetTerm set } || !IsVariable(ops[1]) || ops[2] is not BinaryOp { Kind: BinaryKind.Contains } ||
                !SetHoldsExactly(set, scopes, literalCount))
            {
                return false;
            }

            q = 1;
        }

        // The pattern queries: strictly increasing prefixes (distinct, ordinal order), each one a pattern of the block.
        string? previous = null;
        var patternCount = 0;
        for (; q < queries.Count; q++)
        {
            if (!IsQueryOn(queries[q], ToolFact, out var ops) || ops.Count != 3 || !IsVariable(ops[0]) ||
                ops[1] is not ValueOp { Value: StringTerm prefix } || ops[2] is not BinaryOp { Kind: BinaryKind.Prefix } ||
                (previous is not null && string.CompareOrdinal(previous, prefix.Value) >= 0) || !HasPattern(scopes, prefix.Value))
            {
                return false;
            }

            previous = prefix.Value;
            patternCount++;
        }

        return patternCount == CountDistinctPatterns(scopes) && queries.Count > 0;
    }

    /// <summary>True when <paramref name="check"/> is exactly <see cref="TimeCheck"/> of <paramref name="expiresAt"/>.</summary>
    public static bool IsTimeCheck(Check check, DateTimeOffset expiresAt) =>
        check.Kind == CheckKind.One && check.Queries.Count == 1 && IsQueryOn(check.Queries[0], TimeFact, out var ops) && ops.Count == 3 &&
        IsVariable(ops[0]) && ops[1] is ValueOp { Value: DateTerm date } && (long)date.Seconds == expiresAt.ToUnixTimeSeconds() &&
        ops[2] is BinaryOp { Kind: BinaryKind.LessOrEqual };

    public static long ToCents(decimal usd)
    {
        var cents = usd * 100m;
        if (usd < 0 || cents != decimal.Truncate(cents) || cents > long.MaxValue / 2)
        {
            throw new ArgumentException("A budget is a non-negative amount in whole cents.", nameof(usd));
        }

        return (long)cents;
    }

    public static decimal FromCents(long cents) => cents / 100m;

    private static Rule Query(Predicate body, params Op[] ops) => new(QueryHead, [body], [new Expression(ops)], []);

    // One body predicate name($t), one expression, no trusting scopes.
    private static bool IsQueryOn(Rule query, string predicate, out IReadOnlyList<Op> ops)
    {
        ops = [];
        if (query.Body.Count != 1 || query.Expressions.Count != 1 || query.Scopes.Count != 0)
        {
            return false;
        }

        var p = query.Body[0];
        if (!string.Equals(p.Name, predicate, StringComparison.Ordinal) || p.Terms.Count != 1 || !IsVariableTerm(p.Terms[0]))
        {
            return false;
        }

        ops = query.Expressions[0].Ops;
        return true;
    }

    private static bool IsVariable(Op op) => op is ValueOp v && IsVariableTerm(v.Value);

    private static bool IsVariableTerm(Term term) => term is VariableTerm { Name: Variable };

    private static bool SetHoldsExactly(SetTerm set, IReadOnlyList<string> scopes, int literalCount)
    {
        if (set.Items.Count != literalCount)
        {
            return false;
        }

        foreach (var item in set.Items)
        {
            if (item is not StringTerm s || AipScope.IsPattern(s.Value) || !Contains(scopes, s.Value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasPattern(IReadOnlyList<string> scopes, string prefix)
    {
        foreach (var scope in scopes)
        {
            if (AipScope.IsPattern(scope) && scope.Length == prefix.Length + 1 && scope.AsSpan(0, prefix.Length).SequenceEqual(prefix))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(IReadOnlyList<string> scopes, string value)
    {
        foreach (var scope in scopes)
        {
            if (string.Equals(scope, value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    // Scopes are few (at most 64): quadratic distinct counts allocate nothing.
    private static int CountDistinctLiterals(IReadOnlyList<string> scopes) => CountDistinct(scopes, patterns: false);

    private static int CountDistinctPatterns(IReadOnlyList<string> scopes) => CountDistinct(scopes, patterns: true);

    private static int CountDistinct(IReadOnlyList<string> scopes, bool patterns)
    {
        var count = 0;
        for (var i = 0; i < scopes.Count; i++)
        {
            if (AipScope.IsPattern(scopes[i]) != patterns)
            {
                continue;
            }

            var seen = false;
            for (var j = 0; j < i && !seen; j++)
            {
                seen = string.Equals(scopes[i], scopes[j], StringComparison.Ordinal);
            }

            if (!seen)
            {
                count++;
            }
        }

        return count;
    }
}
