using Aim.Biscuit.Datalog;

namespace Aim.Biscuit.Tests;

/// <summary>Authorizers built from the same source text share its parse but never each other's state.</summary>
public sealed class AuthorizerCodeTests
{
    private const string Code = "resource(\"file1\"); allow if right($r), resource($r);";

    [Fact]
    public void Authorizers_from_the_same_code_stay_independent()
    {
        var granted = new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode(Code).AddCode("right(\"file1\");");
        var empty = new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode(Code);
        Assert.Equal(0, granted.Authorize());
        var e = Assert.Throws<BiscuitLogicException>(() => empty.Authorize());
        Assert.Equal(LogicErrorKind.NoMatchingPolicy, e.Kind);
        Assert.Single(empty.Snapshot().Policies);
    }

    [Fact]
    public void Invalid_code_fails_every_time()
    {
        for (var i = 0; i < 3; i++)
            Assert.Throws<BiscuitLanguageException>(() => new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode("allow if right($r"));
        for (var i = 0; i < 3; i++)
            Assert.Throws<BiscuitLanguageException>(() => new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode("head($x) <- body(1);"));
    }

    [Fact]
    public void Parameters_are_applied_per_call()
    {
        const string code = "allow if resource({r});";
        var a = new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddFact(new Fact("resource", Term.String("a")))
            .AddCode(code, new Dictionary<string, Term> { ["r"] = Term.String("a") });
        var b = new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddFact(new Fact("resource", Term.String("a")))
            .AddCode(code, new Dictionary<string, Term> { ["r"] = Term.String("b") });
        Assert.Equal(0, a.Authorize());
        Assert.Throws<BiscuitLogicException>(() => b.Authorize());
    }

    [Fact]
    public void Many_distinct_sources_are_all_parsed_correctly()
    {
        for (var i = 0; i < 600; i++)
        {
            var authorizer = new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode($"n({i}); allow if n({i});");
            Assert.Equal(0, authorizer.Authorize());
        }
    }
}
