using Aim.Policy;

namespace Aim.Authorization;

/// <summary>
/// Step 3: the context of the call. Its stateless half (this class) checks the time windows
/// (<c>outside_time_window</c>); its stateful half is an <see cref="IContextLimits"/>: rate limits (<c>rate_limited</c>)
/// and the budget (<c>budget_exceeded</c>), kept in memory by the embedded engine
/// (<see cref="InMemoryContextLimits"/>) and in the database by the server, so every replica enforces one limit.
/// </summary>
public static class ContextStep
{
    /// <summary>The time-window check.</summary>
    public static PolicyDecision CheckTime(AgentPolicy policy, ActionRequest request) =>
        policy.CheckTimeWindow(request.Time);

    /// <summary>Whether the call touches any state of the stateful half (a matching rate-limit rule, or a cost under a budget).</summary>
    public static bool NeedsLimits(AgentPolicy policy, ActionRequest request)
    {
        if (request.CostUsd != 0 && policy.Budget is not null)
        {
            return true;
        }

        var rules = policy.RateLimits;
        for (int i = 0; i < rules.Count; i++)
        {
            if (rules[i].Capability.Matches(request.Capability))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A negative cost is never accepted (it would give budget back).</summary>
    public static PolicyDecision CheckCost(ActionRequest request) =>
        request.CostUsd < 0
            ? PolicyDecision.Deny(PolicyReasonCodes.BudgetExceeded, $"'{request.Capability}' declares a negative cost ({request.CostUsd}), which is not accepted.")
            : PolicyDecision.Allow;
}
