using Aim.Audit;

namespace Aim.Sdk.Tests;

/// <summary>An action's declared cost is charged against the agent's budget; spending survives a restart.</summary>
[Collection(GlobalRuntimeCollection.Name)]
public sealed class BudgetTests : IDisposable
{
    private static readonly ActionDescriptor Search = new("web:search", method: "Tests.Search(string)", parameterNames: ["q"], costUsd: 2.0);
    private static readonly ActionDescriptor Free = new("db:read", method: "Tests.Read()");

    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Calls_are_charged_until_the_budget_is_spent_then_denied_before_the_body_runs()
    {
        var (runtime, engine) = Runtimes.Embedded(_home, o => o.Grant("web:search", "db:read").Budget(5m));
        await using var _ = runtime;
        int ran = 0;

        runtime.Invoke(Search, ["a"], () => ran++);
        runtime.Invoke(Search, ["b"], () => ran++);
        var denied = Assert.Throws<ActionDeniedException>(() => runtime.Invoke(Search, ["c"], () => ran++));
        runtime.Invoke(Free, null, () => ran++); // free actions are never limited by the budget

        Assert.Equal(3, ran);
        Assert.Equal("budget_exceeded", denied.ReasonCode);
        await engine.AuditLog.FlushAsync();
        var authorized = engine.AuditLog.Read(0, 20).Where(e => e.Record.Kind == AuditEntryKind.Authorized).ToList();
        Assert.Equal([2m, 2m], authorized.Take(2).Select(e => e.Record.Details!["cost_usd"]!.GetValue<decimal>()));
        Assert.Equal(4m, authorized[1].Record.Details!["spent_usd"]!.GetValue<decimal>());
        Assert.Contains(engine.AuditLog.Read(0, 20), e => e.Record.Kind == AuditEntryKind.Denied && e.Record.ReasonCode == "budget_exceeded");
    }

    [Fact]
    public async Task Spending_is_replayed_from_the_signed_log_after_a_restart()
    {
        var (first, _) = Runtimes.Embedded(_home, o => o.Grant("web:search").Budget(5m));
        first.Invoke(Search, ["a"], () => 0);
        first.Invoke(Search, ["b"], () => 0);
        await first.DisposeAsync();

        var (second, _) = Runtimes.Embedded(_home, o => o.Grant("web:search").Budget(5m));
        await using var __ = second;
        bool ran = false;
        var denied = Assert.Throws<ActionDeniedException>(() => second.Invoke(Search, ["c"], () => ran = true));
        Assert.False(ran);
        Assert.Equal("budget_exceeded", denied.ReasonCode);
    }

    [Fact]
    public async Task A_periodic_budget_starts_again_in_the_next_period()
    {
        var clock = new ManualTimeProvider();
        var (runtime, _) = Runtimes.Embedded(_home, o =>
        {
            o.TimeProvider = clock;
            o.Grant("web:search").Budget(3m, TimeSpan.FromHours(1));
        });
        await using var _ = runtime;

        runtime.Invoke(Search, ["a"], () => 0);
        Assert.Equal("budget_exceeded", Assert.Throws<ActionDeniedException>(() => runtime.Invoke(Search, ["b"], () => 0)).ReasonCode);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(7, runtime.Invoke(Search, ["c"], () => 7));
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_negative_or_non_finite_cost_is_refused_when_the_descriptor_is_built(double cost) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ActionDescriptor("web:search", costUsd: cost));
}
