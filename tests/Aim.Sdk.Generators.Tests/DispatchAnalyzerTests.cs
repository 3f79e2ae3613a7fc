using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Aim.Sdk.Generators.Tests;

/// <summary>AIM007 (unsecured interface or base path), AIM008 (conflicting restatement), AIM009 (uninterceptable call), and the AIM005/AIM006 changes.</summary>
public sealed class DispatchAnalyzerTests
{
    private static readonly DiagnosticAnalyzer[] AllAnalyzers =
        [new SecureActionAttributeAnalyzer(), new UnguardedUseAnalyzer(), new SecuredDeclarationsAnalyzer(), new UninterceptedCallAnalyzer()];

    private static async Task<List<Diagnostic>> Analyze(string source)
    {
        var compilation = Harness.Compile("using Aim;\n" + source);
        var compileErrors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(compileErrors.Count == 0, Harness.Describe(compileErrors));
        return [.. await Harness.AnalyzeAsync(compilation, default, AllAnalyzers)];
    }

    private static string Text(Diagnostic d) => d.Location.SourceTree!.ToString().Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length);

    [Fact]
    public async Task AIM007_reports_an_implementation_secured_where_the_interface_member_is_not()
    {
        var diagnostics = await Analyze("""
            public interface IRefunds { void Refund(string order); }
            public sealed class Refunds : IRefunds
            {
                [SecureAction("payment:refund", JitAccess = true)]
                public void Refund(string order) { }
            }
            """);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM007");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.StartsWith("SecureAction(\"payment:refund\"", Text(d));
        Assert.Contains("calls through 'IRefunds' run without authorization or audit", d.GetMessage());
        Assert.Equal("IRefunds.Refund(string)", d.Properties[AimDiagnostics.MoveToProperty]);
        Assert.Equal("Refund", d.AdditionalLocations[0].SourceTree!.ToString().Substring(d.AdditionalLocations[0].SourceSpan.Start, d.AdditionalLocations[0].SourceSpan.Length));
    }

    [Fact]
    public async Task AIM007_reports_an_override_secured_where_the_overridden_member_is_not()
    {
        var diagnostics = await Analyze("""
            public class Root { public virtual int Read() => 0; }
            public class Middle : Root { public override int Read() => 1; }
            public class Leaf : Middle
            {
                [SecureAction("db:read")]
                public override int Read() => 2;
            }
            """);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM007");
        Assert.Contains("'Middle.Read()' is not, so calls through 'Middle'", d.GetMessage());
        Assert.Equal("Root.Read()", d.Properties[AimDiagnostics.MoveToProperty]); // the root: every override inherits from there
    }

    [Theory]
    [InlineData("public sealed class Agent : System.IDisposable { [SecureAction(\"db:delete\")] public void Dispose() { } }", "System.IDisposable")]
    [InlineData("public sealed class Agent { [SecureAction(\"db:read\")] public override string ToString() => \"\"; }", "object")]
    public async Task AIM007_reports_members_declared_outside_the_compilation_without_a_move_fix(string source, string through)
    {
        var diagnostics = await Analyze(source);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM007");
        Assert.Contains("calls through '" + through + "'", d.GetMessage());
        Assert.False(d.Properties.ContainsKey(AimDiagnostics.MoveToProperty));
        Assert.Empty(d.AdditionalLocations);
    }

    [Fact]
    public async Task AIM007_reports_an_interface_member_implemented_by_an_unsecured_inherited_method()
    {
        var diagnostics = await Analyze("""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public class PlainStore { public string Load(string key) => key; }
            public sealed class Store : PlainStore, IStore { }
            """);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM007");
        Assert.Equal("Store", Text(d));
        Assert.Contains("'IStore.Load(string)' is secured, but 'PlainStore.Load(string)' is not, so calls through 'PlainStore'", d.GetMessage());
    }

    [Fact]
    public async Task AIM007_reports_an_override_secured_through_an_interface_when_its_base_member_is_not()
    {
        var diagnostics = await Analyze("""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public class PlainStore { public virtual string Load(string key) => key; }
            public sealed class Store : PlainStore, IStore { public override string Load(string key) => "s" + key; }
            """);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM007");
        Assert.Contains("calls through 'PlainStore'", d.GetMessage());
    }

    [Theory]
    [InlineData("public interface I { [SecureAction(\"db:read\")] int M(); } public class A : I { public int M() => 1; }")]
    [InlineData("public interface I { [SecureAction(\"db:read\")] int M(); } public class A : I { [SecureAction(\"db:read\")] public int M() => 1; }")]
    [InlineData("public interface I { [SecureAction(\"db:read\")] int M(); } public class A : I { [SecureAction(\"db:read\")] int I.M() => 1; }")]
    [InlineData("public interface I { [SecureAction(\"db:read\")] int M(); } public abstract class B : I { public abstract int M(); } public class A : B { public override int M() => 1; }")]
    [InlineData("public abstract class B { [SecureAction(\"db:read\")] public abstract int M(); } public class A : B { [SecureAction(\"db:read\")] public override int M() => 1; }")]
    [InlineData("public interface I<T> { [SecureAction(\"db:read\")] T M(T t); } public class A : I<int> { public int M(int t) => t; } public class G<T> : I<T> { public T M(T t) => t; }")]
    [InlineData("public interface I { [SecureAction(\"db:read\")] int M(); } public class B : I { public virtual int M() => 1; } public class A : B, I { public override int M() => 2; }")]
    [InlineData("public interface I { int M(); } public class A : I { public int M() => 1; [SecureAction(\"db:read\")] public int N() => 2; }")]
    public async Task AIM007_and_AIM008_are_silent_when_every_path_is_secured_alike(string source)
    {
        var diagnostics = await Analyze(source);

        Assert.DoesNotContain(diagnostics, d => d.Id is "AIM007" or "AIM008" or "AIM006");
    }

    [Theory]
    [InlineData("[SecureAction(\"db:write\")]", "Capability \"db:write\" vs \"db:read\"")]
    [InlineData("[SecureAction(\"db:read\", JitAccess = true)]", "JitAccess true vs false")]
    [InlineData("[SecureAction(\"db:read\", Resource = \"users\", CostUsd = 0.5)]", "Resource \"users\" vs null, CostUsd 0.5 vs 0")]
    public async Task AIM008_reports_a_restatement_with_other_values(string restated, string difference)
    {
        var diagnostics = await Analyze($$"""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public sealed class Store : IStore
            {
                {{restated}}
                public string Load(string key) => key;
            }
            """);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM008");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Contains("'Store.Load(string)' differs from the one on 'IStore.Load(string)' (" + difference + ")", d.GetMessage());
        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM007");
    }

    [Fact]
    public async Task AIM008_reports_an_override_that_changes_the_base_declaration()
    {
        var diagnostics = await Analyze("""
            public class Cache { [SecureAction("db:read")] public virtual string Get(string k) => k; }
            public class Fast : Cache { [SecureAction("db:read", RiskLevel = RiskLevel.Low)] public override string Get(string k) => k; }
            """);

        Assert.Contains("RiskLevel Low vs Auto", Assert.Single(diagnostics, d => d.Id == "AIM008").GetMessage());
    }

    [Fact]
    public async Task AIM008_reports_an_inherited_implementation_secured_differently_from_the_interface()
    {
        var diagnostics = await Analyze("""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public class PlainStore { [SecureAction("db:query")] public string Load(string key) => key; }
            public sealed class Store : PlainStore, IStore { }
            """);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM008");
        Assert.Equal("Store", Text(d));
        Assert.Contains("'PlainStore.Load(string)' differs from the one on 'IStore.Load(string)'", d.GetMessage());
    }

    [Fact]
    public async Task AIM006_accepts_an_explicit_implementation_that_restates_the_interface_member()
    {
        var restated = await Analyze("public interface I { [SecureAction(\"db:read\")] void M(); } public class A : I { [SecureAction(\"db:read\")] void I.M() { } }");
        var bare = await Analyze("public interface I { void M(); } public class A : I { [SecureAction(\"db:read\")] void I.M() { } }");

        Assert.DoesNotContain(restated, d => d.Id is "AIM006" or "AIM007");
        var d = Assert.Single(bare, d => d.Id == "AIM006");
        Assert.Equal("I.M()", d.Properties[AimDiagnostics.MoveToProperty]);
        Assert.DoesNotContain(bare, d => d.Id == "AIM007"); // one error for one problem
    }

    [Fact]
    public async Task AIM005_no_longer_reports_a_type_parameter_receiver_because_it_is_intercepted()
    {
        var diagnostics = await Analyze("""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public static class Use
            {
                public static string Run<T>(T store) where T : IStore => store.Load("k");
                public static string RunClass<T>(T store) where T : class, IStore => store.Load("k");
            }
            """);

        Assert.DoesNotContain(diagnostics, d => d.Id is "AIM005" or "AIM009");
    }

    [Fact]
    public async Task AIM005_still_reports_a_method_group_of_an_implementation_secured_by_its_interface()
    {
        var diagnostics = await Analyze("""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public sealed class Store : IStore
            {
                public string Load(string key) => key;
                public System.Func<string, string> Group() => Load;
            }
            """);

        Assert.Single(diagnostics, d => d.Id == "AIM005" && d.GetMessage().Contains("method group"));
    }

    [Fact]
    public async Task AIM009_reports_a_direct_call_on_an_implementation_generated_code_cannot_name()
    {
        var diagnostics = await Analyze("""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public sealed class Outer
            {
                private sealed class Hidden : IStore { public string Load(string key) => key; }
                public string Direct() => new Hidden().Load("d");
                public string Through() { IStore store = new Hidden(); return store.Load("t"); }
            }
            """);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM009");
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.Equal("new Hidden().Load(\"d\")", Text(d));
        Assert.Contains("'Hidden' is private", d.GetMessage());
        Assert.Contains("call it through 'IStore'", d.GetMessage());
    }

    [Fact]
    public async Task AIM009_reports_a_ref_struct_implementation_called_directly()
    {
        var diagnostics = await Analyze("""
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public ref struct Fast : IStore { public string Load(string key) => key; }
            public static class Use
            {
                public static string Direct() => new Fast().Load("d");
                public static string Generic<T>(T store) where T : IStore, allows ref struct => store.Load("g");
            }
            """);

        var errors = diagnostics.Where(d => d.Id == "AIM009").ToList();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, d => d.GetMessage().Contains("ref struct receiver"));
        Assert.Contains(errors, d => d.GetMessage().Contains("allows ref structs"));
    }

    [Fact]
    public async Task AIM009_reports_a_call_of_a_referenced_declaration_that_cannot_be_enforced()
    {
        var library = Harness.Compile("""
            using Aim;
            namespace Lib;
            public sealed class Buffers
            {
                [SecureAction("db:write")]
                public void Fill(System.Span<byte> buffer) { }
            }
            """, "LibUnenforceable");
        using var stream = new MemoryStream();
        Assert.True(library.Emit(stream).Success);
        var app = Harness.Compile(
            "namespace App; public static class Use { public static void Go() => new Lib.Buffers().Fill(new byte[4]); }",
            "AppUnenforceable",
            [MetadataReference.CreateFromImage(stream.ToArray())]);

        var diagnostics = await Harness.AnalyzeAsync(app, default, AllAnalyzers);
        var (_, _, sources) = Harness.Generate(app);

        var d = Assert.Single(diagnostics, d => d.Id == "AIM009");
        Assert.Contains("Buffers.Fill(System.Span<byte>)' cannot be enforced (ref struct and pointer types", d.GetMessage());
        Assert.False(sources.ContainsKey("AimInterceptors.g.cs"));
    }

    [Fact]
    public async Task AIM009_is_silent_for_every_intercepted_shape()
    {
        var diagnostics = await Analyze(DispatchSources.Source.Replace("using Aim;", string.Empty, StringComparison.Ordinal));

        Assert.DoesNotContain(diagnostics, d => d.Id == "AIM009");
    }

    [Fact]
    public void The_generator_leaves_exactly_the_AIM009_calls_unintercepted()
    {
        const string source = """
            using Aim;
            namespace H;
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public sealed class Outer
            {
                private sealed class Hidden : IStore { public string Load(string key) => key; }
                public string Direct() => new Hidden().Load("d");
                public string Through() { IStore store = new Hidden(); return store.Load("t"); }
            }
            """;
        var (output, _, sources) = Harness.Generate(Harness.Compile(source));

        Assert.Single(System.Text.RegularExpressions.Regex.Matches(sources["AimInterceptors.g.cs"], "InterceptsLocation\\(1"));
        Assert.Empty(Harness.Problems(output));
    }

    [Fact]
    public void Every_new_rule_links_to_its_page_and_the_index_lists_it()
    {
        var rules = new SecuredDeclarationsAnalyzer().SupportedDiagnostics.Concat(new UninterceptedCallAnalyzer().SupportedDiagnostics).ToList();
        string index = File.ReadAllText(Path.Combine(AnalyzerTests.RepoRoot(), "docs", "diagnostics", "README.md"));

        Assert.Equal(["AIM007", "AIM008", "AIM009"], rules.Select(r => r.Id).Order());
        foreach (var rule in rules)
        {
            Assert.Equal(DiagnosticSeverity.Error, rule.DefaultSeverity);
            Assert.EndsWith("docs/diagnostics/" + rule.Id + ".md", rule.HelpLinkUri);
            Assert.True(File.Exists(Path.Combine(AnalyzerTests.RepoRoot(), "docs", "diagnostics", rule.Id + ".md")), rule.Id);
            Assert.Contains("[" + rule.Id + "](" + rule.Id + ".md)", index);
        }
    }
}
