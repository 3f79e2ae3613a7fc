using Aim.Sdk.CodeFixes;
using Microsoft.CodeAnalysis.Testing;

namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// The code fixes through Microsoft.CodeAnalysis.Testing: the harness finds the marked diagnostic, applies the fix,
/// compares the fixed sources (and aim.json) exactly, and checks the fixed project has no diagnostic left.
/// </summary>
public sealed class CodeFixTests
{
    private static string Agent(string attribute) => $$"""
        using Aim;
        public class Agent
        {
            {{attribute}}
            public void Act() { }
        }
        """;

    [Theory]
    [InlineData("[SecureAction(\"payment:refund\", RiskLevel = {|AIM002:RiskLevel.Low|}, JitAccess = true)]", "[SecureAction(\"payment:refund\", RiskLevel = RiskLevel.Critical, JitAccess = true)]")]
    [InlineData("[SecureAction(\"db:delete\", RiskLevel = {|AIM002:Aim.RiskLevel.Medium|})]", "[SecureAction(\"db:delete\", RiskLevel = RiskLevel.High)]")]
    public async Task AIM002_fix_sets_the_detected_level(string attribute, string expected)
    {
        await new AimCodeFixTest<SecureActionAttributeAnalyzer, SetDetectedRiskCodeFix>
        {
            TestCode = Agent(attribute),
            FixedCode = Agent(expected),
        }.RunAsync();
    }

    [Theory]
    [InlineData("[{|AIM004:SecureAction|}(\"payment:refund\")]", "[SecureAction(\"payment:refund\", JitAccess = true)]")]
    [InlineData("[{|AIM004:SecureAction|}(\"payment:refund\", JitAccess = false)]", "[SecureAction(\"payment:refund\", JitAccess = true)]")]
    [InlineData("[{|AIM004:SecureAction|}(\"db:read\", RiskLevel = RiskLevel.Critical, Description = \"x\")]", "[SecureAction(\"db:read\", RiskLevel = RiskLevel.Critical, Description = \"x\", JitAccess = true)]")]
    public async Task AIM004_fix_requires_jit_access(string attribute, string expected)
    {
        await new AimCodeFixTest<SecureActionAttributeAnalyzer, RequireJitAccessCodeFix>
        {
            TestCode = Agent(attribute),
            FixedCode = Agent(expected),
        }.RunAsync();
    }

    [Fact]
    public async Task AIM003_fix_adds_the_grant_to_the_assembly_attribute()
    {
        const string agent = """
            using Aim;
            public class Agent
            {
                [SecureAction({|AIM003:"email:send"|})]
                public void Send() { }
            }
            """;
        var test = new AimCodeFixTest<SecureActionAttributeAnalyzer, AddGrantCodeFix>();
        test.TestState.Sources.Add(("/0/Agent.cs", agent));
        test.TestState.Sources.Add(("/0/Grants.cs", "using Aim;\n[assembly: AgentCapabilities(\"db:read\")]\n" + AnalyzerTests.GrantsAttribute));
        test.FixedState.Sources.Add(("/0/Agent.cs", agent.Replace("{|AIM003:", string.Empty, StringComparison.Ordinal).Replace("|}", string.Empty, StringComparison.Ordinal)));
        test.FixedState.Sources.Add(("/0/Grants.cs", "using Aim;\n[assembly: AgentCapabilities(\"db:read\", \"email:send\")]\n" + AnalyzerTests.GrantsAttribute));
        await test.RunAsync();
    }

    [Theory]
    [InlineData("{ \"grants\": [\"db:read\"] }", "{ \"grants\": [\"email:send\", \"db:read\"] }")]
    [InlineData("{ \"grants\": [] }", "{ \"grants\": [\"email:send\"] }")]
    [InlineData("{ \"name\": \"agent\" }", "{ \"grants\": [\"email:send\"], \"name\": \"agent\" }")]
    public async Task AIM003_fix_adds_the_grant_to_aim_json(string json, string expected)
    {
        const string agent = """
            using Aim;
            public class Agent
            {
                [SecureAction("email:send")]
                public void Send() { }
            }
            """;
        var test = new AimCodeFixTest<SecureActionAttributeAnalyzer, AddGrantCodeFix>
        {
            TestCode = agent.Replace("(\"email:send\")", "({|AIM003:\"email:send\"|})", StringComparison.Ordinal),
            FixedCode = agent,
        };
        test.TestState.AdditionalFiles.Add(("/0/aim.json", json));
        test.FixedState.AdditionalFiles.Add(("/0/aim.json", expected));
        await test.RunAsync();
        Assert.Contains("email:send", Grants.ReadJsonGrants(expected));
    }
}
