using Aim.Capabilities;

namespace Aim.Core.Tests.Capabilities;

public class CapabilityTests
{
    [Theory]
    [InlineData("payment:refund", "payment", "refund")]
    [InlineData("auth:reset_password", "auth", "reset_password")]
    [InlineData("db:read", "db", "read")]
    [InlineData("s3-bucket:put-object", "s3-bucket", "put-object")]
    [InlineData("a:b", "a", "b")]
    [InlineData("x1:y2", "x1", "y2")]
    public void Valid_capabilities_parse_into_their_parts(string text, string ns, string action)
    {
        var capability = Capability.Parse(text);
        Assert.Equal(text, capability.Value);
        Assert.Equal(ns, capability.Namespace);
        Assert.Equal(action, capability.Action);
        Assert.Equal(text, capability.ToString());
        Assert.True(Capability.IsValid(text));
        Assert.True(Capability.TryParse(text, out var parsed));
        Assert.Equal(capability, parsed);
        Assert.Null(Capability.Explain(text));
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("db", "no colon")]
    [InlineData("db:read:all", "more than one colon")]
    [InlineData(":read", "empty namespace")]
    [InlineData("db:", "empty action")]
    [InlineData("DB:read", "upper-case")]
    [InlineData("db:Read", "upper-case")]
    [InlineData("1db:read", "must start with a lower-case letter")]
    [InlineData("db:_read", "must start with a lower-case letter")]
    [InlineData("db:-read", "must start with a lower-case letter")]
    [InlineData("db :read", "may only contain")]
    [InlineData("db:re ad", "may only contain")]
    [InlineData("db:read*", "may only contain")]
    [InlineData("db:*", "must start with a lower-case letter")]
    [InlineData("*", "no colon")]
    [InlineData("db:rëad", "may only contain")]
    [InlineData("db:read\n", "may only contain")]
    [InlineData("db.read", "no colon")]
    [InlineData("db:read@users", "may only contain")]
    public void Malformed_capabilities_are_refused_with_a_reason(string? text, string reason)
    {
        Assert.False(Capability.IsValid(text));
        Assert.False(Capability.TryParse(text, out var none));
        Assert.Null(none);
        var ex = Assert.Throws<CapabilityFormatException>(() => Capability.Parse(text!));
        Assert.Equal("aim_capability_malformed", ex.Code);
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void Overlong_capabilities_are_refused()
    {
        Assert.True(Capability.IsValid(new string('a', 64) + ":" + new string('b', 64)));
        Assert.False(Capability.IsValid(new string('a', 65) + ":b"));
        Assert.False(Capability.IsValid("a:" + new string('b', 65)));
        Assert.False(Capability.IsValid(new string('a', 1_000_000)));
    }

    [Fact]
    public void Capabilities_compare_by_value()
    {
        Assert.Equal(Capability.Parse("db:read"), Capability.Parse("db:read"));
        Assert.True(Capability.Parse("db:read") == Capability.Parse("db:read"));
        Assert.NotEqual(Capability.Parse("db:read"), Capability.Parse("db:write"));
        Assert.Equal(Capability.Parse("db:read").GetHashCode(), Capability.Parse("db:read").GetHashCode());
    }
}
