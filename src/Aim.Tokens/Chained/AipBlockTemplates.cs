using Aim.Biscuit.Datalog;
using Aim.Biscuit.Parser;

namespace Aim.Tokens.Chained;

/// <summary>
/// The AIP block templates for chained tokens, and their canonical checks. Facts are the source of truth; every block's
/// checks must be exactly the canonical checks of its facts (the verifier regenerates and compares them).
/// <list type="bullet">
/// <item>authority: <c>identity(id)</c>, <c>right(scope)</c>…, <c>max_depth(n)</c>, <c>expires(date)</c>, optional
/// <c>budget_ceiling(cents)</c>, <c>subject(id)</c>, <c>issued_at(date)</c>; checks on <c>tool</c> and <c>time</c>.</item>
/// <item>delegation (third-party block signed by the delegator): <c>delegator(id)</c>, <c>delegate(id)</c>,
/// <c>context(text)</c>, <c>right(scope)</c>…, optional <c>budget_ceiling(cents)</c>, <c>expires(date)</c>; its own
/// <c>tool</c> check and, with an expiry, a <c>time</c> check.</item>
/// <item>completion (third-party block signed by the holder): <c>completed_by(id)</c>, <c>status(text)</c>, optional
/// <c>result_hash(text)</c>, <c>cost(cents)</c>, <c>tokens(n)</c>, <c>duration_ms(n)</c>; no checks.</item>
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

    public static Check ToolCheck(IReadOnlyList<string> scopes)
    {
        var literals = scopes.Where(s => !AipScope.IsPattern(s)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var patterns = scopes.Where(AipScope.IsPattern).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var parts = new List<string>();
        var parameters = new Dictionary<string, Term>(StringComparer.Ordinal);
        if (literals.Count > 0)
        {
            parts.Add("tool($t), {scopes}.contains($t)");
            parameters["scopes"] = Term.Set(literals.Select(Term.String));
        }

        for (var i = 0; i < patterns.Count; i++)
        {
            parts.Add($"tool($t), $t.starts_with({{p{i}}})");
            parameters[$"p{i}"] = Term.String(patterns[i][..^1]);
        }

        return DatalogParser.ParseCheck("check if " + string.Join(" or ", parts), parameters);
    }

    public static Check TimeCheck(DateTimeOffset expiresAt) =>
        DatalogParser.ParseCheck("check if time($t), $t <= {exp}", new Dictionary<string, Term> { ["exp"] = Term.Date(expiresAt) });

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
}
