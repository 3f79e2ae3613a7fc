namespace Aim.Tokens.Tests;

public sealed class ScopeTests
{
    [Theory]
    [InlineData("tool:*", "tool:search", true)]
    [InlineData("tool:*", "tool:", true)] // as $t.starts_with("tool:") in the token's Datalog
    [InlineData("*", "db:read", true)]
    [InlineData("tool*", "toolbox", true)]
    [InlineData("tool:*", "toolx:search", false)]
    [InlineData("db:read", "db:read", true)]
    [InlineData("db:read", "db:readx", false)]
    [InlineData("db:*", "db:read", true)]
    public void Allows_matches_literals_and_prefix_patterns(string scope, string tool, bool expected) =>
        Assert.Equal(expected, AipScope.Allows(scope, tool));

    [Theory]
    [InlineData("tool:*", "tool:search", true)]
    [InlineData("tool:*", "tool:web:*", true)]
    [InlineData("tool:web:*", "tool:*", false)]
    [InlineData("tool:search", "tool:*", false)]
    [InlineData("tool:search", "tool:search", true)]
    [InlineData("tool:search", "tool:fetch", false)]
    public void Covers_never_lets_a_child_widen(string parent, string child, bool expected) =>
        Assert.Equal(expected, AipScope.Covers(parent, child));

    [Theory]
    [InlineData("*")]
    [InlineData("tool*")]
    [InlineData("tool:*x")]
    [InlineData("to*ol:x")]
    [InlineData("tool: x")]
    [InlineData("tool:\"x")]
    [InlineData(":x")]
    [InlineData("")]
    public void Invalid_scopes_are_refused(string scope) => Assert.False(AipScope.IsValid(scope));

    [Theory]
    [InlineData("*", true)]
    [InlineData("tool*", true)]
    [InlineData("tool:*", true)]
    [InlineData("to*ol*", false)]
    [InlineData("tool:x", false)]
    [InlineData("tool \"*", false)]
    public void Chained_token_patterns_include_the_drafts_bare_star(string scope, bool expected) => Assert.Equal(expected, AipScope.IsValidPattern(scope));

    [Fact]
    public void Subset_requires_every_child_scope_covered() =>
        Assert.False(AipScope.IsSubset(["tool:search", "tool:delete"], ["tool:search", "tool:fetch"]));
}
