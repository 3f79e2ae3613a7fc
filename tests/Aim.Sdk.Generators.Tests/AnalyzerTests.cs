using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Aim.Sdk.Generators.Tests;

public sealed class AnalyzerTests
{
    private static async Task<List<Diagnostic>> Analyze(string source, params AdditionalText[] files)
    {
        var diagnostics = await Harness.AnalyzeAsync(Harness.Compile("using Aim;\n" + source), [.. files]);
        return [.. diagnostics];
    }

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
        var diagnostics = await Analyze(Method($"[SecureAction(\"{capability}\")]"));

        var d = Assert.Single(diagnostics, d => d.Id == "AIM001");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains("\"" + capability + "\"", d.Location.SourceTree!.ToString().Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
    }

    [Theory]
    [InlineData("db:read")]
    [InlineData("my_ns:do-thing2")]
    public async Task AIM001_accepts_well_formed_capabilities(string capability)
    {
        var diagnostics = await Analyze(Method($"[SecureAction(\"{capability}\")]"));

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM001");
    }

    [Fact]
    public async Task AIM001_rejects_an_overlong_part()
    {
        var diagnostics = await Analyze(Method($"[SecureAction(\"db:{new string('a', 65)}\")]"));

        Assert.Contains(diagnostics, d => d.Id == "AIM001");
    }

    [Fact]
    public async Task AIM002_reports_a_declared_level_below_the_detected_one()
    {
        var diagnostics = await Analyze(Method("[SecureAction(\"payment:refund\", RiskLevel = RiskLevel.Low, JitAccess = true)]"));

        var d = Assert.Single(diagnostics, d => d.Id == "AIM002");
        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal("Critical", d.Properties["DetectedRisk"]);
        Assert.Contains("RiskLevel.Low", d.GetMessage());
    }

    [Theory]
    [InlineData("[SecureAction(\"db:read\", RiskLevel = RiskLevel.High)]")]
    [InlineData("[SecureAction(\"db:read\", RiskLevel = RiskLevel.Low)]")]
    [InlineData("[SecureAction(\"payment:refund\", JitAccess = true)]")]
    public async Task AIM002_is_silent_for_auto_equal_or_higher_levels(string attribute)
    {
        var diagnostics = await Analyze(Method(attribute));

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM002");
    }

    [Fact]
    public async Task AIM003_reports_a_capability_missing_from_assembly_grants()
    {
        var diagnostics = await Analyze("[assembly: AgentCapabilities(\"db:read\")]\n" + Method("[SecureAction(\"email:send\")]") + GrantsAttribute);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM003");
        Assert.Equal("email:send", d.Properties["Capability"]);
    }

    [Theory]
    [InlineData("\"email:send\"")]
    [InlineData("\"email:*\"")]
    [InlineData("\"*:send\"")]
    [InlineData("\"*\"")]
    [InlineData("\"email:send@inbox_*\"")]
    public async Task AIM003_accepts_covering_grants(string grant)
    {
        var diagnostics = await Analyze($"[assembly: AgentCapabilities({grant})]\n" + Method("[SecureAction(\"email:send\")]") + GrantsAttribute);

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM003");
    }

    [Fact]
    public async Task AIM003_is_silent_when_no_grants_are_declared()
    {
        var diagnostics = await Analyze(Method("[SecureAction(\"email:send\")]"));

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM003");
    }

    [Fact]
    public async Task AIM003_reads_grants_from_aim_json()
    {
        var json = new InMemoryAdditionalText("/proj/aim.json", """{ "agents": { "a": { "grants": ["db:read", "file:*"] } } }""");

        var missing = await Analyze(Method("[SecureAction(\"email:send\")]"), json);
        var covered = await Analyze(Method("[SecureAction(\"file:write\")]"), json);

        Assert.Contains(missing, d => d.Id == "AIM003" && d.GetMessage().Contains("aim.json"));
        Assert.DoesNotContain(covered, d => d.Id == "AIM003");
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
        var detected = await Analyze(Method("[SecureAction(\"payment:refund\")]"));
        var declared = await Analyze(Method("[SecureAction(\"db:read\", RiskLevel = RiskLevel.Critical)]"));

        Assert.Single(detected, d => d.Id == "AIM004");
        Assert.Single(declared, d => d.Id == "AIM004");
    }

    [Theory]
    [InlineData("[SecureAction(\"payment:refund\", JitAccess = true)]")]
    [InlineData("[SecureAction(\"payment:refund\", RiskLevel = RiskLevel.High)]")]
    [InlineData("[SecureAction(\"db:delete\")]")]
    public async Task AIM004_is_silent_with_jit_or_below_critical(string attribute)
    {
        var diagnostics = await Analyze(Method(attribute));

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM004");
    }

    [Theory]
    [InlineData("public System.Func<int> Use() => Read;", "method group")]
    [InlineData("public System.Linq.Expressions.Expression<System.Func<Agent, int>> Use() => a => a.Read();", "expression tree")]
    [InlineData("public object? Use() => typeof(Agent).GetMethod(\"Read\")!.Invoke(this, null);", "reflection")]
    [InlineData("public unsafe delegate*<int> Use() => &Stat;", "method reference")]
    public async Task AIM005_reports_uses_that_bypass_interception(string member, string expected)
    {
        var source = $$"""
            public class Agent
            {
                [SecureAction("db:read")]
                public int Read() => 1;
                [SecureAction("db:read")]
                public static int Stat() => 1;
                {{member}}
            }
            """;
        var compilation = Harness.Compile("using Aim;\n" + source);
        compilation = compilation.WithOptions(compilation.Options.WithAllowUnsafe(true));
        var diagnostics = await Harness.AnalyzeAsync(compilation);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM005");
        Assert.Contains(expected, d.GetMessage());
    }

    [Fact]
    public async Task AIM005_reports_a_base_call()
    {
        var diagnostics = await Analyze("""
            public class Base { [SecureAction("db:read")] public virtual int Read() => 1; }
            public class Child : Base { public override int Read() => base.Read() + 1; }
            """);

        Assert.Single(diagnostics, d => d.Id == "AIM005" && d.GetMessage().Contains("base call"));
    }

    [Fact]
    public async Task AIM005_is_silent_for_ordinary_calls_and_nameof()
    {
        var diagnostics = await Analyze("""
            public class Agent
            {
                [SecureAction("db:read")]
                public int Read() => 1;
                public int Use() => Read() + this.Read() + new Agent().Read();
                public string Name() => nameof(Read);
                public object? Other() => typeof(Agent).GetMethod("Use");
            }
            """);

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM005");
    }

    [Theory]
    [InlineData("public class A { [SecureAction(\"db:read\")] private void M() { } }", "private")]
    [InlineData("public class A { [SecureAction(\"db:read\")] protected void M() { } }", "protected")]
    [InlineData("public class A { private class N { [SecureAction(\"db:read\")] public void M() { } } }", "private")]
    [InlineData("public class A { public int P { [SecureAction(\"db:read\")] get => 1; } }", "PropertyGet")]
    [InlineData("public class A { public void M() { [SecureAction(\"db:read\")] void L() { } L(); } }", "local function")]
    [InlineData("public class A { public System.Action M() => [SecureAction(\"db:read\")] () => { }; }", "lambda")]
    [InlineData("public class A { private int _x; [SecureAction(\"db:read\")] public ref int M() => ref _x; }", "ref return")]
    [InlineData("public class A { [SecureAction(\"db:read\")] public void M(System.Span<byte> b) { } }", "ref struct")]
    [InlineData("public interface I { void M(); } public class A : I { [SecureAction(\"db:read\")] void I.M() { } }", "explicit interface")]
    [InlineData("public class A { [SecureAction(\"db:read\")] public static A operator +(A a, A b) => a; }", "UserDefinedOperator")]
    public async Task AIM006_reports_members_that_cannot_be_intercepted(string source, string reason)
    {
        var diagnostics = await Analyze(source);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM006");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains(reason, d.GetMessage());
    }

    [Theory]
    [InlineData("public class A { [SecureAction(\"db:read\")] public void M() { } }")]
    [InlineData("public class A { [SecureAction(\"db:read\")] internal static void M() { } }")]
    [InlineData("public interface I { [SecureAction(\"db:read\")] void M(); }")]
    [InlineData("public struct S { [SecureAction(\"db:read\")] public void M() { } }")]
    [InlineData("public class G<T> { [SecureAction(\"db:read\")] public U M<U>(T t) where U : new() => new U(); }")]
    public async Task AIM006_is_silent_for_interceptable_methods(string source)
    {
        var diagnostics = await Analyze(source);

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM006");
    }

    [Fact]
    public async Task Severity_follows_the_editorconfig_style_options()
    {
        var compilation = Harness.Compile("using Aim;\n" + Method("[SecureAction(\"payment:refund\")]"));
        compilation = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(
            ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("AIM004", ReportDiagnostic.Error)));

        var diagnostics = await Harness.AnalyzeAsync(compilation);

        Assert.Equal(DiagnosticSeverity.Error, Assert.Single(diagnostics, d => d.Id == "AIM004").Severity);
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
