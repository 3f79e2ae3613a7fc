using Aim.Identity;

namespace Aim.Policy;

/// <summary>
/// Tracks what each agent has spent against its <see cref="AgentPolicy.Budget"/>. Thread-safe; in memory
/// (the embedded engine starts each process with a fresh ledger unless it seeds it from the audit log
/// with <see cref="Record"/>).
/// </summary>
public sealed class BudgetLedger
{
    private readonly Dictionary<string, AgentPolicy> _policies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Spend> _spent = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Creates a ledger for the given policies.</summary>
    public BudgetLedger(IEnumerable<AgentPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        foreach (var policy in policies)
        {
            _policies[policy.Agent] = policy;
        }
    }

    /// <summary>
    /// Charges <paramref name="costUsd"/> to the agent when it fits in the budget of the current period.
    /// An agent without a budget is always allowed (and nothing is recorded).
    /// </summary>
    /// <returns>Allowed (charged), or <c>budget_exceeded</c> (nothing charged).</returns>
    public PolicyDecision TryCharge(string agent, decimal costUsd, DateTimeOffset now)
    {
        if (!AgentName.IsValid(agent) || !_policies.TryGetValue(AgentName.Normalize(agent), out var policy) || policy.Budget is null)
        {
            return PolicyDecision.Allow;
        }

        lock (_gate)
        {
            var spent = Current(policy, now);
            var decision = policy.CheckBudget(spent.Amount, costUsd);
            if (decision.Allowed)
            {
                _spent[policy.Agent] = spent with { Amount = spent.Amount + costUsd };
            }

            return decision;
        }
    }

    /// <summary>Records spending that already happened (for example replayed from the audit log), without a check.</summary>
    public void Record(string agent, decimal costUsd, DateTimeOffset when)
    {
        var name = AgentName.Normalize(agent);
        if (!_policies.TryGetValue(name, out var policy) || policy.Budget is null)
        {
            return;
        }

        lock (_gate)
        {
            var spent = Current(policy, when);
            _spent[name] = spent with { Amount = spent.Amount + costUsd };
        }
    }

    /// <summary>
    /// Gives back <paramref name="costUsd"/> charged at <paramref name="chargedAt"/> (a reservation whose action did not run).
    /// Nothing happens when that period is over: a new period starts from zero anyway.
    /// </summary>
    public void Refund(string agent, decimal costUsd, DateTimeOffset chargedAt)
    {
        if (costUsd <= 0 || !AgentName.IsValid(agent) || !_policies.TryGetValue(AgentName.Normalize(agent), out var policy) || policy.Budget is null)
        {
            return;
        }

        lock (_gate)
        {
            long period = PeriodOf(policy.Budget, chargedAt);
            if (_spent.TryGetValue(policy.Agent, out var spent) && spent.Period == period)
            {
                _spent[policy.Agent] = spent with { Amount = Math.Max(0m, spent.Amount - costUsd) };
            }
        }
    }

    /// <summary>What the agent has spent in the current period (0 for an agent without a budget).</summary>
    public decimal SpentUsd(string agent, DateTimeOffset now)
    {
        if (!AgentName.IsValid(agent) || !_policies.TryGetValue(AgentName.Normalize(agent), out var policy) || policy.Budget is null)
        {
            return 0m;
        }

        lock (_gate)
        {
            return Current(policy, now).Amount;
        }
    }

    private Spend Current(AgentPolicy policy, DateTimeOffset now)
    {
        long period = PeriodOf(policy.Budget!, now);
        return _spent.TryGetValue(policy.Agent, out var spent) && spent.Period == period ? spent : new Spend(period, 0m);
    }

    private static long PeriodOf(BudgetLimit budget, DateTimeOffset now) =>
        budget.Per is { } per ? (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / per.Ticks : 0;

    private readonly record struct Spend(long Period, decimal Amount);
}
