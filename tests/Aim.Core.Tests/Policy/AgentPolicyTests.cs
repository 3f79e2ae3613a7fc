using Aim.Capabilities;
using Aim.Identity;
using Aim.Policy;

namespace Aim.Core.Tests.Policy;

public class AgentPolicyTests
{
    private static Capability Cap(string text) => Capability.Parse(text);

    private static readonly AgentPolicy Support = new AgentPolicy.Builder("Support-Agent")
        .Grant("db:read@users_*", "email:send", "file:*")
        .Grant(CapabilityGrant.Create("db:write", "tickets", "notes_*"))
        .Build();

    [Fact]
    public void Granted_capability_is_allowed()
    {
        Assert.Equal(PolicyDecision.Allow, Support.CheckCapability(Cap("email:send"), null));
        Assert.True(Support.CheckCapability(Cap("file:delete"), "/tmp/x").Allowed);
        Assert.True(Support.CheckCapability(Cap("db:read"), "users_table").Allowed);
        Assert.True(Support.CheckCapability(Cap("db:write"), "notes_1").Allowed);
        Assert.Equal("support-agent", Support.Agent);
    }

    [Fact]
    public void Ungranted_capability_is_denied_with_its_code()
    {
        var decision = Support.CheckCapability(Cap("payment:refund"), null);
        Assert.False(decision.Allowed);
        Assert.Equal("capability_not_granted", decision.ReasonCode);
        Assert.Contains("payment:refund", decision.Reason);
    }

    [Fact]
    public void Granted_capability_on_another_resource_is_resource_not_granted()
    {
        var decision = Support.CheckCapability(Cap("db:read"), "orders_table");
        Assert.Equal("resource_not_granted", decision.ReasonCode);
        Assert.Contains("orders_table", decision.Reason);

        var none = Support.CheckCapability(Cap("db:read"), null);
        Assert.Equal("resource_not_granted", none.ReasonCode);
    }

    [Fact]
    public void Any_matching_grant_allows_even_if_another_limits_resources()
    {
        var policy = new AgentPolicy.Builder("a").Grant("db:read@users_*", "db:*").Build();
        Assert.True(policy.CheckCapability(Cap("db:read"), "orders").Allowed);
    }

    [Fact]
    public void Deny_all_grants_nothing()
    {
        var policy = AgentPolicy.DenyAll("nobody");
        Assert.Equal("capability_not_granted", policy.CheckCapability(Cap("util:get"), null).ReasonCode);
        Assert.True(policy.CheckAttributes(new Dictionary<string, string>()).Allowed);
        Assert.True(policy.CheckTimeWindow(DateTimeOffset.UnixEpoch).Allowed);
        Assert.True(policy.CheckBudget(1_000_000m, 1m).Allowed);
    }

    [Fact]
    public void Attributes_must_be_present_and_equal()
    {
        var policy = new AgentPolicy.Builder("a")
            .RequireAttribute("environment", "prod")
            .RequireAttribute("region", "eu-west-1", "eu-central-1")
            .Build();

        Assert.True(policy.CheckAttributes(new Dictionary<string, string> { ["environment"] = "prod", ["region"] = "eu-central-1", ["extra"] = "x" }).Allowed);

        var missing = policy.CheckAttributes(new Dictionary<string, string> { ["environment"] = "prod" });
        Assert.Equal("attribute_mismatch", missing.ReasonCode);
        Assert.Contains("region", missing.Reason);

        var wrong = policy.CheckAttributes(new Dictionary<string, string> { ["environment"] = "staging", ["region"] = "eu-west-1" });
        Assert.Equal("attribute_mismatch", wrong.ReasonCode);
        Assert.Contains("staging", wrong.Reason);

        var caseDiffers = policy.CheckAttributes(new Dictionary<string, string> { ["environment"] = "PROD", ["region"] = "eu-west-1" });
        Assert.False(caseDiffers.Allowed);

        var keyCaseDiffers = policy.CheckAttributes(new Dictionary<string, string> { ["Environment"] = "prod", ["region"] = "eu-west-1" });
        Assert.False(keyCaseDiffers.Allowed);
    }

    [Theory]
    [InlineData("2026-11-23T09:00:00Z", true)] // Monday 09:00
    [InlineData("2026-11-23T16:59:59Z", true)]
    [InlineData("2026-11-23T17:00:00Z", false)] // end is exclusive
    [InlineData("2026-11-23T08:59:59Z", false)]
    [InlineData("2026-11-22T12:00:00Z", false)] // Sunday
    public void Time_window_is_checked_in_utc(string instant, bool expected)
    {
        var policy = new AgentPolicy.Builder("a")
            .AllowDuring([DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday], 9, 17)
            .Build();

        var decision = policy.CheckTimeWindow(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected, decision.Allowed);
        Assert.Equal(expected ? null : "outside_time_window", decision.ReasonCode);
    }

    [Fact]
    public void Offset_times_are_converted_to_utc_before_checking()
    {
        var policy = new AgentPolicy.Builder("a").AllowDuring([], 9, 17).Build();
        // 10:00 at +02:00 is 08:00 UTC: outside.
        Assert.False(policy.CheckTimeWindow(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.FromHours(2))).Allowed);
        // 10:00 at -02:00 is 12:00 UTC: inside.
        Assert.True(policy.CheckTimeWindow(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.FromHours(-2))).Allowed);
    }

    [Fact]
    public void Overnight_window_belongs_to_the_day_it_starts()
    {
        var window = new TimeWindow([DayOfWeek.Friday], 22, 6);
        Assert.True(window.Contains(new DateTimeOffset(2026, 11, 27, 23, 0, 0, TimeSpan.Zero))); // Friday 23:00
        Assert.True(window.Contains(new DateTimeOffset(2026, 11, 28, 5, 59, 0, TimeSpan.Zero))); // Saturday 05:59
        Assert.False(window.Contains(new DateTimeOffset(2026, 11, 28, 6, 0, 0, TimeSpan.Zero))); // Saturday 06:00
        Assert.False(window.Contains(new DateTimeOffset(2026, 11, 27, 5, 0, 0, TimeSpan.Zero))); // Friday 05:00 (Thursday's night)
        Assert.False(window.Contains(new DateTimeOffset(2026, 11, 28, 23, 0, 0, TimeSpan.Zero))); // Saturday 23:00
    }

    [Fact]
    public void Any_window_admits()
    {
        var policy = new AgentPolicy.Builder("a").AllowDuring([DayOfWeek.Monday], 9, 10).AllowDuring([DayOfWeek.Monday], 14, 15).Build();
        Assert.True(policy.CheckTimeWindow(new DateTimeOffset(2026, 11, 23, 14, 30, 0, TimeSpan.Zero)).Allowed);
        Assert.False(policy.CheckTimeWindow(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero)).Allowed);
    }

    [Fact]
    public void Full_day_window_is_always_open()
    {
        var window = new TimeWindow([], 0, 24);
        for (int h = 0; h < 24; h++)
        {
            Assert.True(window.Contains(new DateTimeOffset(2026, 1, 1, h, 30, 0, TimeSpan.Zero)));
        }
    }

    [Theory]
    [InlineData(-1, 5)]
    [InlineData(24, 5)]
    [InlineData(5, 0)]
    [InlineData(5, 25)]
    [InlineData(5, 5)]
    public void Invalid_windows_are_refused(int start, int end)
    {
        var ex = Assert.Throws<PolicyFormatException>(() => new TimeWindow([], start, end));
        Assert.Equal("aim_policy_malformed", ex.Code);
    }

    [Fact]
    public void Undefined_day_is_refused()
    {
        Assert.Throws<PolicyFormatException>(() => new TimeWindow([(DayOfWeek)9], 1, 2));
    }

    [Fact]
    public void Budget_allows_up_to_the_limit()
    {
        var policy = new AgentPolicy.Builder("a").Budget(10m).Build();
        Assert.True(policy.CheckBudget(0m, 10m).Allowed);
        Assert.True(policy.CheckBudget(9.99m, 0.01m).Allowed);
        var over = policy.CheckBudget(9.99m, 0.02m);
        Assert.Equal("budget_exceeded", over.ReasonCode);
        Assert.Equal("budget_exceeded", policy.CheckBudget(0m, -1m).ReasonCode);
    }

    [Fact]
    public void Include_merges_another_policy()
    {
        var fromFile = new AgentPolicy.Builder("a")
            .Grant("db:read@users_*")
            .RequireAttribute("environment", "prod")
            .AllowDuring([], 9, 17)
            .RateLimit("email:send", 5, TimeSpan.FromMinutes(1))
            .Budget(20m)
            .Build();

        var merged = new AgentPolicy.Builder("a").Grant("email:send").Include(fromFile).Build();

        Assert.Equal(2, merged.Grants.Count);
        Assert.Equal(["prod"], merged.RequiredAttributes["environment"]);
        Assert.Single(merged.TimeWindows);
        Assert.Single(merged.RateLimits);
        Assert.Equal(20m, merged.Budget!.LimitUsd);
    }

    [Fact]
    public void Builder_refuses_bad_input_with_policy_errors()
    {
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").Grant("DB:read"));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").RateLimit("email:send", 0, TimeSpan.FromMinutes(1)));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").RateLimit("email:send", 1, TimeSpan.Zero));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").RateLimit("email:send@x", 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").RateLimit("email:send", RateLimitRule.MaxLimit + 1, TimeSpan.FromSeconds(1)));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").Budget(-1m));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").Budget(1m, TimeSpan.FromSeconds(-1)));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").RequireAttribute("", "x"));
        Assert.Throws<PolicyFormatException>(() => new AgentPolicy.Builder("a").RequireAttribute("k"));
        Assert.Throws<KeyStoreException>(() => new AgentPolicy.Builder("../etc"));
    }
}
