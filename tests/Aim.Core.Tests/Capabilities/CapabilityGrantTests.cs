using Aim.Capabilities;

namespace Aim.Core.Tests.Capabilities;

public class CapabilityGrantTests
{
    private static Capability Cap(string text) => Capability.Parse(text);

    [Theory]
    [InlineData("*", "db:read", true)]
    [InlineData("*", "payment:refund", true)]
    [InlineData("*:*", "payment:refund", true)]
    [InlineData("db:*", "db:read", true)]
    [InlineData("db:*", "db:drop", true)]
    [InlineData("db:*", "database:read", false)]
    [InlineData("db:*", "dbx:read", false)]
    [InlineData("*:read", "db:read", true)]
    [InlineData("*:read", "file:read", true)]
    [InlineData("*:read", "file:reader", false)]
    [InlineData("*:read", "file:write", false)]
    [InlineData("db:read", "db:read", true)]
    [InlineData("db:read", "db:readall", false)]
    [InlineData("db:read", "db:write", false)]
    [InlineData("email:send", "email:send", true)]
    public void Grant_patterns_match_whole_parts(string grant, string capability, bool expected)
    {
        Assert.Equal(expected, CapabilityGrant.Parse(grant).Matches(Cap(capability)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("db")]
    [InlineData("db:re*")]
    [InlineData("d*:read")]
    [InlineData("**")]
    [InlineData("db:read:x")]
    [InlineData("DB:read")]
    [InlineData(":read")]
    [InlineData("db:")]
    [InlineData("db:read@")]
    [InlineData("@users")]
    [InlineData("db:read@a\u0000b")]
    public void Malformed_grants_are_refused(string text)
    {
        var ex = Assert.Throws<CapabilityFormatException>(() => CapabilityGrant.Parse(text));
        Assert.Equal("aim_capability_malformed", ex.Code);
        Assert.False(CapabilityGrant.TryParse(text, out _));
    }

    [Fact]
    public void Grant_with_resource_limits_the_resources()
    {
        var grant = CapabilityGrant.Parse("db:read@users_*");

        Assert.Equal("db:read", grant.CapabilityPattern);
        Assert.Single(grant.Resources);
        Assert.True(grant.Matches(Cap("db:read"), "users_table"));
        Assert.True(grant.Matches(Cap("db:read"), "users_"));
        Assert.False(grant.Matches(Cap("db:read"), "orders_table"));
        Assert.False(grant.Matches(Cap("db:read"), null)); // a limited grant never covers an action without a resource
        Assert.False(grant.Matches(Cap("db:write"), "users_table"));
        Assert.True(grant.Matches(Cap("db:read"))); // capability part alone
        Assert.Equal("db:read@users_*", grant.ToString());
    }

    [Fact]
    public void Resource_pattern_may_contain_at_signs_and_colons()
    {
        var grant = CapabilityGrant.Parse("email:send@*@example.com");
        Assert.True(grant.Matches(Cap("email:send"), "alice@example.com"));
        Assert.False(grant.Matches(Cap("email:send"), "alice@evil.com"));

        var s3 = CapabilityGrant.Parse("file:read@s3://bucket/*");
        Assert.True(s3.Matches(Cap("file:read"), "s3://bucket/a/b.txt"));
        Assert.False(s3.Matches(Cap("file:read"), "s3://other/a"));
    }

    [Fact]
    public void Grant_without_resource_covers_every_resource_and_none()
    {
        var grant = CapabilityGrant.Parse("db:read");
        Assert.True(grant.CoversAllResources);
        Assert.True(grant.Matches(Cap("db:read"), null));
        Assert.True(grant.Matches(Cap("db:read"), "anything"));
    }

    [Fact]
    public void Create_takes_several_resource_patterns()
    {
        var grant = CapabilityGrant.Create("db:*", "users_*", "orders_????");
        Assert.True(grant.Matches(Cap("db:write"), "orders_2026"));
        Assert.True(grant.Matches(Cap("db:write"), "users_x"));
        Assert.False(grant.Matches(Cap("db:write"), "orders_26"));
    }

    [Fact]
    public void Breadth_flags_describe_the_grant()
    {
        Assert.True(CapabilityGrant.Parse("*").IsUnrestricted);
        Assert.True(CapabilityGrant.Parse("*:*").IsUnrestricted);
        Assert.True(CapabilityGrant.Parse("*@*").IsUnrestricted);
        Assert.False(CapabilityGrant.Parse("*@users_*").IsUnrestricted);
        Assert.True(CapabilityGrant.Parse("db:*").HasWildcard);
        Assert.True(CapabilityGrant.Parse("*:read").HasWildcard);
        Assert.False(CapabilityGrant.Parse("db:read").HasWildcard);
        Assert.False(CapabilityGrant.Parse("db:read").IsUnrestricted);
    }

    [Fact]
    public void Grants_compare_by_pattern_and_resources()
    {
        Assert.Equal(CapabilityGrant.Parse("db:read@x"), CapabilityGrant.Parse("db:read@x"));
        Assert.NotEqual(CapabilityGrant.Parse("db:read@x"), CapabilityGrant.Parse("db:read@y"));
        Assert.Equal(CapabilityGrant.Parse("*"), CapabilityGrant.Parse("*:*"));
    }
}
