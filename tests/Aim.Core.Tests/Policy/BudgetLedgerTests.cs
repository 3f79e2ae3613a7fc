using Aim.Policy;

namespace Aim.Core.Tests.Policy;

public class BudgetLedgerTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Charges_until_the_budget_is_spent()
    {
        var ledger = new BudgetLedger([new AgentPolicy.Builder("a").Budget(10m).Build()]);
        Assert.True(ledger.TryCharge("a", 6m, Day1).Allowed);
        Assert.Equal("budget_exceeded", ledger.TryCharge("a", 5m, Day1).ReasonCode);
        Assert.Equal(6m, ledger.SpentUsd("a", Day1));
        Assert.True(ledger.TryCharge("a", 4m, Day1).Allowed);
        Assert.Equal(10m, ledger.SpentUsd("a", Day1.AddYears(5)));
    }

    [Fact]
    public void Periodic_budget_resets_at_the_period_boundary()
    {
        var ledger = new BudgetLedger([new AgentPolicy.Builder("a").Budget(10m, TimeSpan.FromDays(1)).Build()]);
        Assert.True(ledger.TryCharge("a", 10m, Day1).Allowed);
        Assert.False(ledger.TryCharge("a", 1m, Day1.AddHours(11)).Allowed); // 23:00 same day
        Assert.True(ledger.TryCharge("a", 1m, Day1.AddHours(12)).Allowed); // midnight UTC
        Assert.Equal(1m, ledger.SpentUsd("a", Day1.AddHours(13)));
    }

    [Fact]
    public void Agents_without_budget_are_not_tracked()
    {
        var ledger = new BudgetLedger([AgentPolicy.DenyAll("a")]);
        Assert.True(ledger.TryCharge("a", 1_000_000m, Day1).Allowed);
        Assert.True(ledger.TryCharge("unknown", 1m, Day1).Allowed);
        Assert.Equal(0m, ledger.SpentUsd("a", Day1));
    }

    [Fact]
    public void Recorded_spending_counts()
    {
        var ledger = new BudgetLedger([new AgentPolicy.Builder("a").Budget(10m).Build()]);
        ledger.Record("a", 9m, Day1);
        Assert.False(ledger.TryCharge("a", 2m, Day1).Allowed);
    }

    [Fact]
    public void Concurrent_charges_never_overspend()
    {
        var ledger = new BudgetLedger([new AgentPolicy.Builder("a").Budget(100m).Build()]);
        Parallel.For(0, 1000, _ => ledger.TryCharge("a", 1m, Day1));
        Assert.Equal(100m, ledger.SpentUsd("a", Day1));
    }
}
