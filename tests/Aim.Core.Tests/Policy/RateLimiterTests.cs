using Aim.Capabilities;
using Aim.Policy;

namespace Aim.Core.Tests.Policy;

public class RateLimiterTests
{
    private static readonly Capability Send = Capability.Parse("email:send");
    private static readonly Capability Read = Capability.Parse("db:read");
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RateLimiter Limiter(params (string Pattern, int Limit, TimeSpan Per)[] rules)
    {
        var builder = new AgentPolicy.Builder("agent");
        foreach (var (pattern, limit, per) in rules)
        {
            builder.RateLimit(pattern, limit, per);
        }

        return new RateLimiter(builder.Build());
    }

    [Fact]
    public void Allows_up_to_the_limit_then_denies_with_retry_after()
    {
        var limiter = Limiter(("email:send", 3, TimeSpan.FromMinutes(1)));
        var time = new ManualTime(T0);

        for (int i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryAcquire("agent", Send, time.GetUtcNow(), out var zero));
            Assert.Equal(TimeSpan.Zero, zero);
            time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.False(limiter.TryAcquire("agent", Send, time.GetUtcNow(), out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(30), retryAfter); // first call at T0 leaves the window at T0+60s; now is T0+30s
    }

    [Fact]
    public void Window_slides()
    {
        var limiter = Limiter(("email:send", 2, TimeSpan.FromMinutes(1)));
        Assert.True(limiter.TryAcquire("agent", Send, T0, out _));
        Assert.True(limiter.TryAcquire("agent", Send, T0.AddSeconds(30), out _));
        Assert.False(limiter.TryAcquire("agent", Send, T0.AddSeconds(59), out _));
        Assert.True(limiter.TryAcquire("agent", Send, T0.AddSeconds(60), out _)); // the T0 call left
        Assert.False(limiter.TryAcquire("agent", Send, T0.AddSeconds(89), out var retry));
        Assert.Equal(TimeSpan.FromSeconds(1), retry);
        Assert.True(limiter.TryAcquire("agent", Send, T0.AddSeconds(90), out _));
    }

    [Fact]
    public void Denied_calls_are_not_counted()
    {
        var limiter = Limiter(("email:send", 1, TimeSpan.FromMinutes(1)));
        Assert.True(limiter.TryAcquire("agent", Send, T0, out _));
        for (int i = 1; i < 60; i++)
        {
            Assert.False(limiter.TryAcquire("agent", Send, T0.AddSeconds(i), out _));
        }

        Assert.True(limiter.TryAcquire("agent", Send, T0.AddSeconds(60), out _));
    }

    [Fact]
    public void Unmatched_capabilities_and_unknown_agents_are_not_limited()
    {
        var limiter = Limiter(("email:send", 1, TimeSpan.FromHours(1)));
        for (int i = 0; i < 10; i++)
        {
            Assert.True(limiter.TryAcquire("agent", Read, T0, out _));
            Assert.True(limiter.TryAcquire("other", Send, T0, out _));
            Assert.True(limiter.TryAcquire("not a valid name/..", Send, T0, out _));
        }
    }

    [Fact]
    public void Agent_names_are_case_insensitive()
    {
        var limiter = Limiter(("email:send", 1, TimeSpan.FromHours(1)));
        Assert.True(limiter.TryAcquire("AGENT", Send, T0, out _));
        Assert.False(limiter.TryAcquire("agent", Send, T0, out _));
    }

    [Fact]
    public void Every_matching_rule_must_have_room_and_all_are_charged()
    {
        var limiter = Limiter(("email:*", 2, TimeSpan.FromMinutes(1)), ("*", 3, TimeSpan.FromMinutes(1)));
        var notify = Capability.Parse("email:notify");

        Assert.True(limiter.TryAcquire("agent", Send, T0, out _));
        Assert.True(limiter.TryAcquire("agent", notify, T0, out _));
        Assert.False(limiter.TryAcquire("agent", Send, T0, out _)); // email:* full
        Assert.True(limiter.TryAcquire("agent", Read, T0, out _)); // * has one left
        Assert.False(limiter.TryAcquire("agent", Read, T0, out _)); // * full
    }

    [Fact]
    public void Retry_after_is_the_longest_wait_among_full_rules()
    {
        var limiter = Limiter(("email:send", 1, TimeSpan.FromMinutes(1)), ("email:*", 1, TimeSpan.FromHours(1)));
        Assert.True(limiter.TryAcquire("agent", Send, T0, out _));
        Assert.False(limiter.TryAcquire("agent", Send, T0.AddMinutes(2), out var retry));
        Assert.Equal(TimeSpan.FromMinutes(58), retry);
    }

    [Fact]
    public void Check_gives_a_rate_limited_decision()
    {
        var limiter = Limiter(("email:send", 1, TimeSpan.FromMinutes(1)));
        Assert.True(limiter.Check("agent", Send, T0, out _).Allowed);
        var denied = limiter.Check("agent", Send, T0, out var retry);
        Assert.Equal("rate_limited", denied.ReasonCode);
        Assert.Equal(TimeSpan.FromMinutes(1), retry);
    }

    [Fact]
    public void Concurrent_callers_never_exceed_the_limit()
    {
        var limiter = Limiter(("email:send", 500, TimeSpan.FromHours(1)));
        int allowed = 0;
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            if (limiter.TryAcquire("agent", Send, T0, out _))
            {
                Interlocked.Increment(ref allowed);
            }
        });

        Assert.Equal(500, allowed);
    }
}
