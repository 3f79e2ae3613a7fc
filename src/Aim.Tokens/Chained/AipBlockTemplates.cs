using Aim.Biscuit.Datalog;

namespace Aim.Tokens.Chained;

/// <summary>
/// The block templates of draft-prakash-aip-01 section 7.1 (Simple profile) with the scope patterns of section 7.2,
/// written and read as the AIP reference writes them (its Biscuit calls go through biscuit-rust):
/// <list type="bullet">
/// <item>authority: <c>identity(id)</c>, optional <c>principal(id)</c>, <c>right(scope)</c> per scope, <c>max_depth(n)</c>,
/// optional <c>budget_ceiling(cents)</c>; <c>check if tool($t), ["a", …].contains($t) or tool($t), $t.starts_with("p")…</c>;
/// <c>check if time($t), $t &lt;= expiry</c>. Aim extension (optional, ignored by the reference): <c>subject(id)</c>, the
/// first holder when it is not the root.</item>
/// <item>delegation: <c>delegator(id)</c>, <c>delegate(id)</c>, <c>context(text)</c>, optional <c>principal(id)</c> and
/// <c>budget_ceiling(cents)</c>; its own tool check; optionally a time check no later than its parent's.</item>
/// <item>completion (Aim extension): <c>completed_by(id)</c>, <c>status(text)</c>, <c>context(text)</c> (so the reference,
/// which reads every block after the authority as a delegation, finds the context it requires), optional
/// <c>result_hash(text)</c>, <c>cost(cents)</c>, <c>tokens(n)</c>, <c>duration_ms(n)</c>; no checks.</item>
/// </list>
/// A block's scopes are read from its tool check (the draft: the check constrains authorization, <c>right</c> facts are
/// descriptive), its expiry from its time check.
/// </summary>
internal static class AipBlockTemplates
{
    public const string Identity = "identity";
    public const string Principal = "principal";
    public const string Subject = "subject";
    public const string Right = "right";
    public const string MaxDepth = "max_depth";
    public const string Budget = "budget_ceiling";
    public const string Delegator = "delegator";
    public const string Delegate = "delegate";
    public const string Context = "context";
    public const string CompletedBy = "completed_by";
    public const string Status = "status";
    public const string ResultHash = "result_hash";
    public const string Cost = "cost";
    public const string Tokens = "tokens";
    public const string DurationMs = "duration_ms";

    /// <summary>The context a completion block carries for readers that treat it as a delegation.</summary>
    public const string CompletionContext = "completion";

    private const string ToolFact = "tool";
    private const string TimeFact = "time";
    private const string Variable = "t";

    private static readonly Predicate QueryHead = new("query", []);
    private static readonly Predicate ToolOfT = new(ToolFact, [Term.Variable(Variable)]);
    private static readonly Predicate TimeOfT = new(TimeFact, [Term.Variable(Variable)]);

    /// <summary>
    /// The canonical tool check: one <c>[literals].contains($t)</c> clause first (the literal scopes in the order given),
    /// then one clause per pattern in the order given (<c>$t.starts_with(prefix)</c>; a bare <c>*</c> is the clause
    /// <c>tool($t)</c>). Built directly, no Datalog text is parsed.
    /// </summary>
    public static Check ToolCheck(IReadOnlyList<string> scopes)
    {
        var literals = new List<Term>();
        var patterns = new List<string>();
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
            queries.Add(Query(ToolOfT, new ValueOp(Term.Array(literals)), new ValueOp(Term.Variable(Variable)), new BinaryOp(BinaryKind.Contains)));
        }

        foreach (var pattern in patterns)
        {
            queries.Add(pattern.Length == 1
                ? new Rule(QueryHead, [ToolOfT], [], [])
                : Query(ToolOfT, new ValueOp(Term.Variable(Variable)), new ValueOp(Term.String(pattern[..^1])), new BinaryOp(BinaryKind.Prefix)));
        }

        return new Check(CheckKind.One, queries);
    }

    /// <summary><c>check if time($t), $t &lt;= expires</c>.</summary>
    public static Check TimeCheck(DateTimeOffset expiresAt) =>
        new(CheckKind.One, [Query(TimeOfT, new ValueOp(Term.Variable(Variable)), new ValueOp(Term.Date(expiresAt)), new BinaryOp(BinaryKind.LessOrEqual))]);

    /// <summary>
    /// Reads the scopes of a canonical tool check, or null when <paramref name="check"/> is not one: a <c>check if</c>
    /// (kind one) whose first query may be <c>tool($t), [strings].contains($t)</c> (a non-empty array of literal scopes)
    /// and whose other queries are each <c>tool($t), $t.starts_with("prefix")</c> or a bare <c>tool($t)</c>. No scopes,
    /// rules or other predicates; the query heads are not read.
    /// </summary>
    public static List<string>? ReadToolCheck(Check check)
    {
        if (check.Kind != CheckKind.One || check.Queries.Count == 0)
        {
            return null;
        }

        var scopes = new List<string>();
        for (var q = 0; q < check.Queries.Count; q++)
        {
            var query = check.Queries[q];
            if (!IsQueryOn(query, ToolFact))
            {
                return null;
            }

            if (query.Expressions.Count == 0)
            {
                scopes.Add("*");
                continue;
            }

            if (query.Expressions.Count != 1)
            {
                return null;
            }

            var ops = query.Expressions[0].Ops;
            if (ops.Count != 3)
            {
                return null;
            }

            if (q == 0 && ops[0] is ValueOp { Value: ArrayTerm array } && IsVariable(ops[1]) && ops[2] is BinaryOp { Kind: BinaryKind.Contains })
            {
                if (array.Items.Count == 0)
                {
                    return null;
                }

                foreach (var item in array.Items)
                {
                    // A literal in the exact-match clause matches only itself; a '*' there would be read as a pattern.
                    if (item is not StringTerm s || !AipScope.IsValid(s.Value) || AipScope.IsPattern(s.Value))
                    {
                        return null;
                    }

                    scopes.Add(s.Value);
                }
            }
            else if (IsVariable(ops[0]) && ops[1] is ValueOp { Value: StringTerm prefix } && ops[2] is BinaryOp { Kind: BinaryKind.Prefix } &&
                     AipScope.IsValidPattern(prefix.Value + "*"))
            {
                scopes.Add(prefix.Value + "*");
            }
            else
            {
                return null;
            }
        }

        return scopes;
    }

    /// <summary>The expiry of a canonical time check (<c>check if time($t), $t &lt;= date</c>), or null when it is not one.</summary>
    public static DateTimeOffset? ReadTimeCheck(Check check)
    {
        if (check.Kind != CheckKind.One || check.Queries.Count != 1 || !IsQueryOn(check.Queries[0], TimeFact) || check.Queries[0].Expressions.Count != 1)
        {
            return null;
        }

        var ops = check.Queries[0].Expressions[0].Ops;
        return ops.Count == 3 && IsVariable(ops[0]) && ops[1] is ValueOp { Value: DateTerm date } && date.Seconds <= 253402300799 &&
               ops[2] is BinaryOp { Kind: BinaryKind.LessOrEqual }
            ? DateTimeOffset.FromUnixTimeSeconds((long)date.Seconds)
            : null;
    }

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

    // One body predicate name($t), no trusting scopes.
    private static bool IsQueryOn(Rule query, string predicate)
    {
        if (query.Body.Count != 1 || query.Scopes.Count != 0)
        {
            return false;
        }

        var p = query.Body[0];
        return string.Equals(p.Name, predicate, StringComparison.Ordinal) && p.Terms.Count == 1 && IsVariableTerm(p.Terms[0]);
    }

    private static bool IsVariable(Op op) => op is ValueOp v && IsVariableTerm(v.Value);

    private static bool IsVariableTerm(Term term) => term is VariableTerm { Name: Variable };
}
