using Aim.Authorization;

namespace Aim.Policy;

/// <summary>
/// Step 3's state in one process (the embedded engine's): exact sliding-window rate limits (<see cref="RateLimiter"/>)
/// and budgets (<see cref="BudgetLedger"/>) per agent, for whatever policy each call arrives with (a changed policy
/// starts fresh windows for that agent). Thread-safe.
/// </summary>
public sealed class InMemoryContextLimits : IContextLimits
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, AgentState> _agents = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<LimitResult> TakeAsync(ContextLimitRequest request, CancellationToken cancellationToken)
    {
        var (policy, action, reserve) = request;
        var state = StateOf(policy);
        if (state.Rates is { } rates && !rates.TryAcquire(policy.Agent, action.Capability, action.Time, out var retryAfter))
        {
            return ValueTask.FromResult(new LimitResult(false, PolicyReasonCodes.RateLimited,
                $"Rate limit reached for '{action.Capability}'; retry after {retryAfter.TotalSeconds:0.#} s."));
        }

        if (!reserve || action.CostUsd == 0 || state.Budget is not { } budget)
        {
            return ValueTask.FromResult(LimitResult.Free);
        }

        var charged = budget.TryCharge(policy.Agent, action.CostUsd, action.Time);
        return ValueTask.FromResult(charged.Allowed
            ? new LimitResult(true, Reserved: true, SpentUsd: budget.SpentUsd(policy.Agent, action.Time))
            : new LimitResult(false, charged.ReasonCode ?? PolicyReasonCodes.BudgetExceeded, charged.Reason ?? "The budget is exhausted."));
    }

    /// <inheritdoc />
    public ValueTask ReleaseAsync(AgentPolicy policy, ActionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(request);
        StateOf(policy).Budget?.Refund(policy.Agent, request.CostUsd, request.Time);
        return ValueTask.CompletedTask;
    }

    /// <summary>Records spending that already happened (for example replayed from the audit log at start), without a check.</summary>
    public void RecordSpend(AgentPolicy policy, decimal costUsd, DateTimeOffset when)
    {
        ArgumentNullException.ThrowIfNull(policy);
        StateOf(policy).Budget?.Record(policy.Agent, costUsd, when);
    }

    /// <summary>What the agent has spent in the budget period of <paramref name="now"/> (0 without a budget).</summary>
    public decimal SpentUsd(AgentPolicy policy, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return StateOf(policy).Budget?.SpentUsd(policy.Agent, now) ?? 0m;
    }

    private AgentState StateOf(AgentPolicy policy)
    {
        lock (_gate)
        {
            if (!_agents.TryGetValue(policy.Agent, out var state) || !ReferenceEquals(state.Policy, policy))
            {
                state = new AgentState(
                    policy,
                    policy.RateLimits.Count == 0 ? null : new RateLimiter(policy),
                    policy.Budget is null ? null : new BudgetLedger([policy]));
                _agents[policy.Agent] = state;
            }

            return state;
        }
    }

    private sealed record AgentState(AgentPolicy Policy, RateLimiter? Rates, BudgetLedger? Budget);
}
