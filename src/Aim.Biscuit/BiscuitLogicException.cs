namespace Aim.Biscuit;

/// <summary>A check that did not pass during authorization.</summary>
/// <param name="CheckId">Index of the check in its block (or in the authorizer).</param>
/// <param name="Rule">The check, printed as Datalog.</param>
public abstract record FailedCheck(int CheckId, string Rule);

/// <summary>A check of a token block failed.</summary>
/// <param name="BlockId">Index of the block in the token (0 is the authority block).</param>
/// <param name="CheckId">Index of the check in the block.</param>
/// <param name="Rule">The check, printed as Datalog.</param>
public sealed record FailedBlockCheck(int BlockId, int CheckId, string Rule) : FailedCheck(CheckId, Rule);

/// <summary>A check of the authorizer failed.</summary>
/// <param name="CheckId">Index of the check among the authorizer's checks.</param>
/// <param name="Rule">The check, printed as Datalog.</param>
public sealed record FailedAuthorizerCheck(int CheckId, string Rule) : FailedCheck(CheckId, Rule);

/// <summary>Whether a policy allows or denies.</summary>
public enum PolicyKind
{
    /// <summary><c>allow if</c>.</summary>
    Allow,
    /// <summary><c>deny if</c>.</summary>
    Deny,
}

/// <summary>The first policy that matched.</summary>
/// <param name="Kind">Allow or deny.</param>
/// <param name="Index">Index of the policy in the authorizer.</param>
public readonly record struct MatchedPolicy(PolicyKind Kind, int Index);

/// <summary>Kinds of <see cref="BiscuitLogicException"/>.</summary>
public enum LogicErrorKind
{
    /// <summary>Some checks failed or a deny policy matched.</summary>
    Unauthorized,
    /// <summary>No policy matched.</summary>
    NoMatchingPolicy,
    /// <summary>A block rule has head variables that its body does not bind.</summary>
    InvalidBlockRule,
    /// <summary>A token was added to an authorizer that already has one.</summary>
    AuthorizerNotEmpty,
}

/// <summary>Authorization failed: checks failed, a deny policy matched, or no policy matched.</summary>
public sealed class BiscuitLogicException : BiscuitException
{
    private BiscuitLogicException(LogicErrorKind kind, string message, MatchedPolicy? policy, IReadOnlyList<FailedCheck> checks, int blockId, string? rule)
        : base("logic." + BiscuitFormatException.ToSnake(kind), message)
    {
        Kind = kind;
        Policy = policy;
        FailedChecks = checks;
        BlockId = blockId;
        Rule = rule;
    }

    /// <summary>What went wrong.</summary>
    public LogicErrorKind Kind { get; }

    /// <summary>For <see cref="LogicErrorKind.Unauthorized"/>: the policy that matched (an allow policy when only checks failed).</summary>
    public MatchedPolicy? Policy { get; }

    /// <summary>The checks that failed, authorizer checks first, then block checks in block order.</summary>
    public IReadOnlyList<FailedCheck> FailedChecks { get; }

    /// <summary>
    /// For <see cref="LogicErrorKind.InvalidBlockRule"/>: index of the block in the list of attenuation blocks
    /// (the authority block also reports 0), as the reference implementation reports it; otherwise -1.
    /// </summary>
    public int BlockId { get; }

    /// <summary>For <see cref="LogicErrorKind.InvalidBlockRule"/>: the offending rule, printed.</summary>
    public string? Rule { get; }

    internal static BiscuitLogicException Unauthorized(MatchedPolicy policy, IReadOnlyList<FailedCheck> checks) =>
        new(LogicErrorKind.Unauthorized,
            policy.Kind == PolicyKind.Deny ? $"deny policy {policy.Index} matched" : $"{checks.Count} check(s) failed",
            policy, checks, -1, null);

    internal static BiscuitLogicException NoMatchingPolicy(IReadOnlyList<FailedCheck> checks) =>
        new(LogicErrorKind.NoMatchingPolicy, $"no policy matched ({checks.Count} check(s) failed)", null, checks, -1, null);

    internal static BiscuitLogicException InvalidBlockRule(int blockId, string rule) =>
        new(LogicErrorKind.InvalidBlockRule, $"a rule in block {blockId} has unbound head variables: {rule}", null, [], blockId, rule);

    internal static BiscuitLogicException AuthorizerNotEmpty() =>
        new(LogicErrorKind.AuthorizerNotEmpty, "the authorizer already holds a token", null, [], -1, null);
}
