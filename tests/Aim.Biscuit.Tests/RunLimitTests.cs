using Aim.Biscuit.Datalog;

namespace Aim.Biscuit.Tests;

public sealed class RunLimitTests
{
    /// <summary>A clock that moves forward by a fixed step each time it is read.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }

    private static Authorizer WithNumbers(int count, string code, RunLimits limits, TimeProvider? time = null)
    {
        var authorizer = new Authorizer { Limits = limits, TimeProvider = time ?? TimeProvider.System };
        for (var i = 0; i < count; i++) authorizer.AddFact(new Fact("n", Term.Integer(i)));
        return authorizer.AddCode(code);
    }

    [Fact]
    public void Runaway_join_is_stopped_by_the_time_limit()
    {
        // 200^3 combinations whose expression never holds: without a limit this runs for a long time.
        var authorizer = WithNumbers(200, "t($x, $y, $z) <- n($x), n($y), n($z), $x + $y + $z == -1; allow if true;",
            RunLimits.Default, new SteppingClock(TimeSpan.FromMilliseconds(0.01)));
        var e = Assert.Throws<BiscuitRunLimitException>(() => authorizer.Authorize());
        Assert.Equal(RunLimitKind.Timeout, e.Kind);
        Assert.Equal("run_limit.timeout", e.Code);
    }

    [Fact]
    public void Fact_explosion_is_stopped_by_the_fact_limit()
    {
        var authorizer = WithNumbers(50, "pair($x, $y) <- n($x), n($y); allow if true;",
            RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(30) });
        Assert.Equal(RunLimitKind.TooManyFacts, Assert.Throws<BiscuitRunLimitException>(() => authorizer.Authorize()).Kind);
    }

    [Fact]
    public void Long_derivation_is_stopped_by_the_iteration_limit()
    {
        var authorizer = new Authorizer { Limits = RunLimits.Default with { MaxIterations = 10, MaxTime = TimeSpan.FromSeconds(30) } };
        for (var i = 0; i < 30; i++) authorizer.AddFact(new Fact("edge", Term.Integer(i), Term.Integer(i + 1)));
        authorizer.AddCode("reach(0); reach($y) <- reach($x), edge($x, $y); allow if true;");
        Assert.Equal(RunLimitKind.TooManyIterations, Assert.Throws<BiscuitRunLimitException>(() => authorizer.Authorize()).Kind);
    }

    [Fact]
    public void Same_derivation_succeeds_with_enough_iterations()
    {
        var authorizer = new Authorizer { Limits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(30) } };
        for (var i = 0; i < 30; i++) authorizer.AddFact(new Fact("edge", Term.Integer(i), Term.Integer(i + 1)));
        authorizer.AddCode("reach(0); reach($y) <- reach($x), edge($x, $y); allow if reach(30);");
        Assert.Equal(0, authorizer.Authorize());
    }

    [Fact]
    public void Failed_evaluation_is_never_reused_for_a_decision()
    {
        var authorizer = WithNumbers(50, "pair($x, $y) <- n($x), n($y); allow if true;",
            RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(30) });
        Assert.Throws<BiscuitRunLimitException>(() => authorizer.Authorize());
        Assert.Throws<BiscuitRunLimitException>(() => authorizer.Authorize());
    }

    [Fact]
    public void Time_budget_covers_all_checks_together()
    {
        // Each check is cheap, but the clock advances 0.2 ms per reading: 50 checks exceed the 1 ms budget.
        var authorizer = new Authorizer { Limits = RunLimits.Default, TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(0.2)) };
        authorizer.AddCode(string.Concat(Enumerable.Range(0, 50).Select(i => $"check if {i} == {i}; ")) + "allow if true;");
        Assert.Equal(RunLimitKind.Timeout, Assert.Throws<BiscuitRunLimitException>(() => authorizer.Authorize()).Kind);

        var relaxed = new Authorizer { Limits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(1) }, TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(0.2)) };
        relaxed.AddCode(string.Concat(Enumerable.Range(0, 50).Select(i => $"check if {i} == {i}; ")) + "allow if true;");
        Assert.Equal(0, relaxed.Authorize());
    }
}

public sealed class WarmUpTests
{
    [Fact]
    public void Warm_up_runs_a_full_cycle_and_is_idempotent()
    {
        Authorizer.WarmUp();
        Authorizer.WarmUp();
    }
}
