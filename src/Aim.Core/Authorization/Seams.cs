using Aim.Policy;

namespace Aim.Authorization;

/// <summary>
/// Where the pipeline reads an agent's policy: grants with resource patterns, required attributes, time windows, rate
/// limits and a budget. The embedded engine has one fixed policy (code and policy file); the server reads the agent's
/// policy from its database.
/// </summary>
public interface IPolicySource
{
    /// <summary>The policy in force for the request's agent. Never null: an agent without one gets a deny-all policy.</summary>
    ValueTask<AgentPolicy> PolicyForAsync(ActionRequest request, CancellationToken cancellationToken);
}

/// <summary>A policy source with one fixed policy (the embedded engine's).</summary>
/// <param name="policy">The policy.</param>
public sealed class FixedPolicySource(AgentPolicy policy) : IPolicySource
{
    /// <summary>The policy.</summary>
    public AgentPolicy Policy { get; } = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <inheritdoc />
    public ValueTask<AgentPolicy> PolicyForAsync(ActionRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(Policy);
}

/// <summary>
/// The stateful half of step 3: rate limits and budgets. Stateless checks (grants, attributes, time windows, chain,
/// intent) are pure functions of the request and the policy; only this seam remembers earlier calls, so whoever decides
/// (one process, or several server replicas on one database) must keep one state for it.
/// </summary>
/// <remarks>
/// Semantics every implementation keeps (the decision-equivalence tests hold them to it): a call counts against every
/// rate-limit rule it matches, and only when all of them have room (exact sliding windows: fewer than <c>limit</c>
/// calls in the half-open interval <c>(now - per, now]</c>); a counted call stays counted whatever later steps decide.
/// The cost is reserved only when <see cref="ContextLimitRequest.ReserveCost"/> is true and the rate limits let the call
/// through, in the budget period of <see cref="ActionRequest.Time"/> (fixed periods from the Unix epoch), and only when
/// it fits (<c>spent + cost &lt;= limit</c>).
/// </remarks>
public interface IContextLimits
{
    /// <summary>Takes one call against the rate limits and, when asked, reserves its cost against the budget.</summary>
    ValueTask<LimitResult> TakeAsync(ContextLimitRequest request, CancellationToken cancellationToken);

    /// <summary>Gives back a reservation made by <see cref="TakeAsync"/> (the approval was denied or timed out).</summary>
    ValueTask ReleaseAsync(AgentPolicy policy, ActionRequest request, CancellationToken cancellationToken);
}

/// <summary>What step 3's stateful half is asked to do for one call.</summary>
/// <param name="Policy">The agent's policy (its rate limits and budget).</param>
/// <param name="Request">The call.</param>
/// <param name="ReserveCost">Whether to reserve <see cref="ActionRequest.CostUsd"/> (false when a later step already denies the call).</param>
public readonly record struct ContextLimitRequest(AgentPolicy Policy, ActionRequest Request, bool ReserveCost);

/// <summary>The answer of <see cref="IContextLimits.TakeAsync"/>.</summary>
/// <param name="Allowed">Whether the rate limits and budget let the call through.</param>
/// <param name="ReasonCode"><c>rate_limited</c> or <c>budget_exceeded</c> when denied.</param>
/// <param name="Reason">A human-readable reason when denied.</param>
/// <param name="Reserved">Whether a cost was reserved (and must be released if the call does not run).</param>
/// <param name="SpentUsd">What the agent has spent in the current period after this call (null when it has no budget).</param>
public readonly record struct LimitResult(bool Allowed, string? ReasonCode = null, string? Reason = null, bool Reserved = false, decimal? SpentUsd = null)
{
    /// <summary>Allowed, nothing reserved.</summary>
    public static LimitResult Free => new(true);
}
