using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// AIM001-AIM006 through Microsoft.CodeAnalysis.Testing: each test lists every diagnostic the source must produce (by
/// location, id and message arguments); anything else reported, or a compiler error, fails the test.
/// </summary>
public sealed class AnalyzerTests
{
    private static Task Attribute(string source, params DiagnosticResult[] expected) =>
        new AimAnalyzerTest<SecureActionAttributeAnalyzer>("using Aim;\n" + source, expected).RunAsync();

    private static Task Unguarded(string source, params DiagnosticResult[] expected) =>
        new AimAnalyzerTest<UnguardedUseAnalyzer>("using Aim;\n" + source, expected).RunAsync();

    private static DiagnosticResult Aim(string id, int location = 0) => new DiagnosticResult(id, Rule(id).DefaultSeverity).WithLocation(location);

    private static DiagnosticDescriptor Rule(string id) =>
        new SecureActionAttributeAnalyzer().SupportedDiagnostics.Concat(new UnguardedUseAnalyzer().SupportedDiagnostics).Single(r => r.Id == id);

    private static string Method(string attribute) => $$"""
        public class Agent
        {
            {{attribute}}
            public void Act() { }
        }
        """;

    [Theory]
    [InlineData("Db:read")]
    [InlineData("db")]
    [InlineData("db:read:all")]
    [InlineData(":read")]
    [InlineData("db:")]
    [InlineData("1db:read")]
    [InlineData("db:re ad")]
    [InlineData("db:réad")]
    [InlineData("")]
    public async Task AIM001_reports_a_malformed_capability(string capability)
    {
        Assert.Equal(DiagnosticSeverity.Error, Rule("AIM001").DefaultSeverity);
        await Attribute(Method($"[SecureAction({{|#0:\"{capability}\"|}})]"), Aim("AIM001").WithArguments(capability));
    }

    [Theory]
    [InlineData("db:read")]
    [InlineData("my_ns:do-thing2")]
    public async Task AIM001_accepts_well_formed_capabilities(string capability)
    {
        await Attribute(Method($"[SecureAction(\"{capability}\")]"));
    }

    [Fact]
    public async Task AIM001_rejects_an_overlong_part()
    {
        string capability = "db:" + new string('a', 65);
        await Attribute(Method($"[SecureAction({{|#0:\"{capability}\"|}})]"), Aim("AIM001").WithArguments(capability));
    }

    [Fact]
    public async Task AIM002_reports_a_declared_level_below_the_detected_one()
    {
        Assert.Equal(DiagnosticSeverity.Warning, Rule("AIM002").DefaultSeverity);
        await Attribute(
            Method("[SecureAction(\"payment:refund\", RiskLevel = {|#0:RiskLevel.Low|}, JitAccess = true)]"),
            Aim("AIM002").WithArguments("payment:refund", "Low", "Critical"));
    }

    [Theory]
    [InlineData("[SecureAction(\"db:read\", RiskLevel = RiskLevel.High)]")]
    [InlineData("[SecureAction(\"db:read\", RiskLevel = RiskLevel.Low)]")]
    [InlineData("[SecureAction(\"payment:refund\", JitAccess = true)]")]
    public async Task AIM002_is_silent_for_auto_equal_or_higher_levels(string attribute)
    {
        await Attribute(Method(attribute));
    }

    [Fact]
    public async Task AIM003_reports_a_capability_missing_from_assembly_grants()
    {
        await Attribute(
            "[assembly: AgentCapabilities(\"db:read\")]\n" + Method("[SecureAction({|#0:\"email:send\"|})]") + GrantsAttribute,
            Aim("AIM003").WithArguments("email:send", "[assembly: AgentCapabilities]"));
    }

    [Theory]
    [InlineData("\"email:send\"")]
    [InlineData("\"email:*\"")]
    [InlineData("\"*:send\"")]
    [InlineData("\"*\"")]
    [InlineData("\"email:send@inbox_*\"")]
    public async Task AIM003_accepts_covering_grants(string grant)
    {
        await Attribute($"[assembly: AgentCapabilities({grant})]\n" + Method("[SecureAction(\"email:send\")]") + GrantsAttribute);
    }

    [Fact]
    public async Task AIM003_is_silent_when_no_grants_are_declared()
    {
        await Attribute(Method("[SecureAction(\"email:send\")]"));
    }

    [Fact]
    public async Task AIM003_reads_grants_from_aim_json()
    {
        const string json = """{ "agents": { "a": { "grants": ["db:read", "file:*"] } } }""";
        var missing = new AimAnalyzerTest<SecureActionAttributeAnalyzer>(
            "using Aim;\n" + Method("[SecureAction({|#0:\"email:send\"|})]"),
            Aim("AIM003").WithArguments("email:send", "aim.json"));
        missing.TestState.AdditionalFiles.Add(("/proj/aim.json", json));
        await missing.RunAsync();

        var covered = new AimAnalyzerTest<SecureActionAttributeAnalyzer>("using Aim;\n" + Method("[SecureAction(\"file:write\")]"));
        covered.TestState.AdditionalFiles.Add(("/proj/aim.json", json));
        await covered.RunAsync();
    }

    [Fact]
    public void Grants_reader_survives_hostile_json()
    {
        foreach (string json in new[] { "", "{", "[[[[", "\"grants\"", "{\"grants\":[\"a\\", "{\"grants\": [1, {\"x\": [\"y\"]}, \"db:read\"]}", "\\u12" })
        {
            var grants = Grants.ReadJsonGrants(json);
            Assert.DoesNotContain("y", grants);
        }

        Assert.Equal(["db:read"], Grants.ReadJsonGrants("{\"grants\": [1, {\"x\": [\"y\"]}, \"db:read\"]}"));
    }

    [Fact]
    public async Task AIM004_reports_critical_risk_without_jit()
    {
        await Attribute(Method("[{|#0:SecureAction|}(\"payment:refund\")]"), Aim("AIM004").WithArguments("payment:refund"));
        await Attribute(Method("[{|#0:SecureAction|}(\"db:read\", RiskLevel = RiskLevel.Critical)]"), Aim("AIM004").WithArguments("db:read"));
    }

    [Theory]
    [InlineData("[SecureAction(\"payment:refund\", JitAccess = true)]")]
    [InlineData("[SecureAction(\"db:delete\")]")]
    public async Task AIM004_is_silent_with_jit_or_below_critical(string attribute)
    {
        await Attribute(Method(attribute));
    }

    [Fact]
    public async Task AIM004_is_silent_for_a_declared_high_level_which_AIM002_reports_instead()
    {
        await Attribute(
            Method("[SecureAction(\"payment:refund\", RiskLevel = {|#0:RiskLevel.High|})]"),
            Aim("AIM002").WithArguments("payment:refund", "High", "Critical"));
    }

    [Theory]
    [InlineData("public System.Func<int> Use() => {|#0:Read|};", "Read", "method group")]
    [InlineData("public System.Linq.Expressions.Expression<System.Func<Agent, int>> Use() => a => {|#0:a.Read()|};", "Read", "expression tree")]
    [InlineData("public object? Use() => {|#0:typeof(Agent).GetMethod(\"Read\")|}!.Invoke(this, null);", "Read", "reflection")]
    [InlineData("public unsafe delegate*<int> Use() => &{|#0:Stat|};", "Stat", "method reference")]
    public async Task AIM005_reports_uses_that_bypass_interception(string member, string method, string expected)
    {
        var source = $$"""
            using Aim;
            public class Agent
            {
                [SecureAction("db:read")]
                public int Read() => 1;
                [SecureAction("db:read")]
                public static int Stat() => 1;
                {{member}}
            }
            """;
        await new AimAnalyzerTest<UnguardedUseAnalyzer>(source, Aim("AIM005")) { AllowUnsafe = true }.RunAsync();
        string message = await MessageOf(source, allowUnsafe: true);
        Assert.Contains(method, message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public async Task AIM005_reports_a_base_call()
    {
        const string source = """
            public class Base { [SecureAction("db:read")] public virtual int Read() => 1; }
            public class Child : Base { public override int Read() => {|#0:base.Read()|} + 1; }
            """;
        await Unguarded(source, Aim("AIM005"));
        Assert.Contains("base call", await MessageOf("using Aim;\n" + source, allowUnsafe: false));
    }

    [Fact]
    public async Task AIM005_is_silent_for_ordinary_calls_and_nameof()
    {
        await Unguarded("""
            public class Agent
            {
                [SecureAction("db:read")]
                public int Read() => 1;
                public int Use() => Read() + this.Read() + new Agent().Read();
                public string Name() => nameof(Read);
                public object? Other() => typeof(Agent).GetMethod("Use");
            }
            """);
    }

    [Theory]
    [InlineData("public class A { [{|#0:SecureAction|}(\"db:read\")] private void M() { } }", "private")]
    [InlineData("public class A { [{|#0:SecureAction|}(\"db:read\")] protected void M() { } }", "protected")]
    [InlineData("public class A { private class N { [{|#0:SecureAction|}(\"db:read\")] public void M() { } } }", "private")]
    [InlineData("public class A { public int P { [{|#0:SecureAction|}(\"db:read\")] get => 1; } }", "PropertyGet")]
    [InlineData("public class A { public void M() { [{|#0:SecureAction|}(\"db:read\")] void L() { } L(); } }", "local function")]
    [InlineData("public class A { public System.Action M() => [{|#0:SecureAction|}(\"db:read\")] () => { }; }", "lambda")]
    [InlineData("public class A { private int _x; [{|#0:SecureAction|}(\"db:read\")] public ref int M() => ref _x; }", "ref return")]
    [InlineData("public class A { [{|#0:SecureAction|}(\"db:read\")] public void M(System.Span<byte> b) { } }", "ref struct")]
    [InlineData("public interface I { void {|#1:M|}(); } public class A : I { [{|#0:SecureAction|}(\"db:read\")] void I.M() { } }", "explicit interface")]
    [InlineData("public class A { [{|#0:SecureAction|}(\"db:read\")] public static A operator +(A a, A b) => a; }", "UserDefinedOperator")]
    public async Task AIM006_reports_members_that_cannot_be_intercepted(string source, string reason)
    {
        Assert.Equal(DiagnosticSeverity.Error, Rule("AIM006").DefaultSeverity);
        // An explicit implementation also points at the interface member, where the code fix moves the attribute.
        await Attribute(source, source.Contains("{|#1:", StringComparison.Ordinal) ? Aim("AIM006").WithLocation(1) : Aim("AIM006"));
        Assert.Contains(reason, await MessageOf("using Aim;\n" + source, allowUnsafe: false));
    }

    [Theory]
    [InlineData("public class A { [SecureAction(\"db:read\")] public void M() { } }")]
    [InlineData("public class A { [SecureAction(\"db:read\")] internal static void M() { } }")]
    [InlineData("public interface I { [SecureAction(\"db:read\")] void M(); }")]
    [InlineData("public struct S { [SecureAction(\"db:read\")] public void M() { } }")]
    [InlineData("public class G<T> { [SecureAction(\"db:read\")] public U M<U>(T t) where U : new() => new U(); }")]
    public async Task AIM006_is_silent_for_interceptable_methods(string source)
    {
        await Attribute(source);
    }

    [Fact]
    public async Task Severity_follows_the_project_rule_settings()
    {
        await new AimAnalyzerTest<SecureActionAttributeAnalyzer>(
            "using Aim;\n" + Method("[{|#0:SecureAction|}(\"payment:refund\")]"),
            new DiagnosticResult("AIM004", DiagnosticSeverity.Error).WithLocation(0).WithArguments("payment:refund"))
        {
            RuleSeverities = ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("AIM004", ReportDiagnostic.Error),
        }.RunAsync();

        await new AimAnalyzerTest<SecureActionAttributeAnalyzer>("using Aim;\n" + Method("[SecureAction(\"payment:refund\")]"))
        {
            RuleSeverities = ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("AIM004", ReportDiagnostic.Suppress),
        }.RunAsync();
    }

    [Fact]
    public void Every_rule_links_to_its_page()
    {
        var rules = new SecureActionAttributeAnalyzer().SupportedDiagnostics.Concat(new UnguardedUseAnalyzer().SupportedDiagnostics).ToList();

        Assert.Equal(["AIM001", "AIM002", "AIM003", "AIM004", "AIM005", "AIM006"], rules.Select(r => r.Id).Order());
        foreach (var rule in rules)
        {
            Assert.EndsWith("docs/diagnostics/" + rule.Id + ".md", rule.HelpLinkUri);
            string page = Path.Combine(RepoRoot(), "docs", "diagnostics", rule.Id + ".md");
            Assert.True(File.Exists(page), page);
        }
    }

    /// <summary>The message of the single AIM diagnostic of a marked-up source (the reason wording is checked by substring).</summary>
    private static async Task<string> MessageOf(string markup, bool allowUnsafe)
    {
        string source = markup.Replace("{|#0:", string.Empty, StringComparison.Ordinal).Replace("{|#1:", string.Empty, StringComparison.Ordinal).Replace("|}", string.Empty, StringComparison.Ordinal);
        var compilation = Harness.Compile(source);
        compilation = compilation.WithOptions(compilation.Options.WithAllowUnsafe(allowUnsafe));
        return Assert.Single(await Harness.AnalyzeAsync(compilation)).GetMessage(System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aim.Sdk.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Declared in the test source when the runtime does not ship it yet.</summary>
    internal static string GrantsAttribute =>
        typeof(AimRuntime).Assembly.GetType("Aim.AgentCapabilitiesAttribute") is null
            ? "namespace Aim { [System.AttributeUsage(System.AttributeTargets.Assembly)] public sealed class AgentCapabilitiesAttribute : System.Attribute { public AgentCapabilitiesAttribute(params string[] capabilities) { } } }\n"
            : string.Empty;
}
