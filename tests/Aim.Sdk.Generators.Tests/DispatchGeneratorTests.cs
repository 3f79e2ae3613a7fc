using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Aim.Sdk.Generators.Tests;

/// <summary>What the generator emits for calls through interfaces, base members, generics and type parameters.</summary>
public sealed class DispatchGeneratorTests
{
    private static readonly DiagnosticAnalyzer[] AllAnalyzers =
        [new SecureActionAttributeAnalyzer(), new UnguardedUseAnalyzer(), new SecuredDeclarationsAnalyzer(), new UninterceptedCallAnalyzer()];

    private static readonly string[] SecuredNames = ["RefundAsync", "Load", "Read", "Get", "Find", "Echo", "Purge", "Send"];

    /// <summary>Every invocation in the output compilation's user trees, with the interceptor the compiler will call (or null).</summary>
    private static List<(InvocationExpressionSyntax Call, IMethodSymbol Target, IMethodSymbol? Interceptor)> Invocations(Compilation output)
    {
        var result = new List<(InvocationExpressionSyntax, IMethodSymbol, IMethodSymbol?)>();
        foreach (SyntaxTree tree in output.SyntaxTrees.Where(t => t.FilePath.StartsWith("/src/", StringComparison.Ordinal)))
        {
            SemanticModel model = output.GetSemanticModel(tree);
            foreach (InvocationExpressionSyntax call in tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>())
            {
                if (model.GetOperation(call) is IInvocationOperation operation)
                {
                    result.Add((call, operation.TargetMethod, model.GetInterceptorMethod(call)));
                }
            }
        }

        return result;
    }

    [Fact]
    public void Every_secured_call_through_an_interface_base_or_type_parameter_is_intercepted()
    {
        var (output, diagnostics, sources) = Harness.Generate(Harness.Compile(DispatchSources.Source));

        Assert.Empty(diagnostics);
        var problems = Harness.Problems(output);
        Assert.True(problems.Count == 0, Harness.Describe(problems, sources));
        var calls = Invocations(output);
        var secured = calls.Where(c => SecuredNames.Contains(c.Target.Name) && c.Call.Ancestors().OfType<ClassDeclarationSyntax>().First().Identifier.Text == "Calls").ToList();
        Assert.Equal(18, secured.Count);
        Assert.All(secured, c => Assert.True(c.Interceptor is not null, "not intercepted: " + c.Call));
        Assert.All(calls.Except(secured), c => Assert.True(c.Interceptor is null, "intercepted but not secured: " + c.Call));
    }

    [Fact]
    public void The_catalog_holds_each_declaration_once_and_no_restatement()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile(DispatchSources.Source));

        string catalog = sources["AimActionCatalog.g.cs"];
        var methods = Regex.Matches(catalog, @"method: ""([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(
            [
                "Dispatch.Cache.Get(string)", "Dispatch.IEcho.Echo(T)", "Dispatch.IMailer.Send(string)", "Dispatch.IPurge.Purge(string)",
                "Dispatch.IRefundService.RefundAsync(string, decimal)", "Dispatch.IRepository<T>.Find(T)", "Dispatch.IStore.Load(string)",
                "Dispatch.Reader.Read(int)",
            ],
            methods);
        Assert.DoesNotContain("Dispatch.Mailer.Send", catalog);
    }

    [Fact]
    public void A_direct_call_on_an_implementation_uses_the_interface_members_descriptor()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile(DispatchSources.Source));

        string interceptors = sources["AimInterceptors.g.cs"];
        Match direct = Regex.Match(interceptors, @"Intercept\d+_Load\(this global::Dispatch\.Store @this, string @key\)\s*\{\s*return global::Aim\.AimRuntime\.Current\.Invoke<string>\(global::Aim\.Generated\.AimActionCatalog\.(\w+),");
        Match through = Regex.Match(interceptors, @"Intercept\d+_Load\(this global::Dispatch\.IStore @this, string @key\)\s*\{\s*return global::Aim\.AimRuntime\.Current\.Invoke<string>\(global::Aim\.Generated\.AimActionCatalog\.(\w+),");
        Assert.True(direct.Success, interceptors);
        Assert.True(through.Success, interceptors);
        Assert.Equal(through.Groups[1].Value, direct.Groups[1].Value);
    }

    [Fact]
    public void Interface_calls_and_type_parameter_receivers_share_one_interceptor()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile(DispatchSources.Source));

        string interceptors = sources["AimInterceptors.g.cs"];
        Match shared = Regex.Match(interceptors, @"((?:\s*\[global::System\.Runtime\.CompilerServices\.InterceptsLocation[^\n]*\n)+)\s*internal static string Intercept\d+_Load\(this global::Dispatch\.IStore @this");
        Assert.True(shared.Success, interceptors);
        Assert.Equal(3, Regex.Matches(shared.Groups[1].Value, "InterceptsLocation").Count); // Interface, Run<T>, RunRef<T>
    }

    [Fact]
    public async Task The_dispatch_shapes_raise_no_diagnostic()
    {
        var diagnostics = await Harness.AnalyzeAsync(Harness.Compile(DispatchSources.Source), default, AllAnalyzers);

        Assert.True(diagnostics.IsEmpty, Harness.Describe(diagnostics));
    }

    [Fact]
    public void An_interface_from_a_referenced_assembly_secures_the_applications_implementation()
    {
        var library = Harness.Compile("""
            using Aim;
            namespace Lib;
            public interface ISender
            {
                [SecureAction("email:send", JitAccess = true)]
                bool Send(string to);
            }
            """, "LibDispatch");
        var (libraryOutput, _, librarySources) = Harness.Generate(library);
        Assert.Contains("method: \"Lib.ISender.Send(string)\"", librarySources["AimActionCatalog.g.cs"]);
        using var stream = new MemoryStream();
        Assert.True(libraryOutput.Emit(stream).Success);

        var app = Harness.Compile("""
            using Aim;
            namespace App;
            public sealed class Sender : Lib.ISender
            {
                [SecureAction("email:send", JitAccess = true)]
                public bool Send(string to) => to.Length > 0;
            }
            public static class Program
            {
                public static bool Direct() => new Sender().Send("x@example.com");
                public static bool Through(Lib.ISender sender) => sender.Send("y@example.com");
            }
            """, "AppDispatch", [MetadataReference.CreateFromImage(stream.ToArray())]);
        var (output, _, sources) = Harness.Generate(app);

        var problems = Harness.Problems(output);
        Assert.True(problems.Count == 0, Harness.Describe(problems, sources));
        string interceptors = sources["AimInterceptors.g.cs"];
        Assert.Equal(2, Regex.Matches(interceptors, "InterceptsLocation\\(1").Count);
        Assert.Single(Regex.Matches(interceptors, "new global::Aim.ActionDescriptor\\(")); // one descriptor, the interface member's
        Assert.Contains("method: \"Lib.ISender.Send(string)\"", interceptors);
        Assert.False(sources.ContainsKey("AimActionCatalog.g.cs")); // the restatement declares nothing
    }

    [Fact]
    public void Adding_the_attribute_to_an_interface_in_another_file_intercepts_unchanged_implementation_calls()
    {
        const string calls = "namespace D { public static class Calls { public static string Run(Store s) => s.Load(\"k\"); } }";
        const string store = "namespace D { public sealed class Store : IStore { public string Load(string key) => key; } }";
        const string bare = "namespace D { public interface IStore { string Load(string key); } }";
        CSharpCompilation compilation = Harness.Compile([calls, store, bare]);
        GeneratorDriver driver = Harness.Driver().RunGenerators(compilation);
        Assert.DoesNotContain(driver.GetRunResult().GeneratedTrees, t => t.FilePath.EndsWith("AimInterceptors.g.cs", StringComparison.Ordinal));

        SyntaxTree old = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(
            "namespace D { public interface IStore { [Aim.SecureAction(\"db:read\")] string Load(string key); } }", Harness.ParseOptions, path: old.FilePath));
        driver = driver.RunGenerators(edited);

        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        Assert.Contains(result.GeneratedSources, s => s.HintName == "AimInterceptors.g.cs" && s.SourceText.ToString().Contains("this global::D.Store @this", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unrelated_edit_keeps_the_dispatch_pipeline_cached()
    {
        CSharpCompilation compilation = Harness.Compile(DispatchSources.Source);
        GeneratorDriver driver = Harness.Driver().RunGenerators(compilation);

        CSharpCompilation edited = compilation.AddSyntaxTrees(
            CSharpSyntaxTree.ParseText("namespace Unrelated { internal static class Added { internal static int Value() => 42; } }", Harness.ParseOptions, path: "/src/Added.cs"));
        GeneratorRunResult second = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (string step in new[] { SecureActionGenerator.Steps.Targets, SecureActionGenerator.Steps.CallSites, SecureActionGenerator.Steps.CollectedTargets, SecureActionGenerator.Steps.CollectedCallSites })
        {
            Assert.All(second.TrackedSteps[step].SelectMany(r => r.Outputs), o =>
                Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, step + ": " + o.Reason));
        }
    }

    [Fact]
    public void Restating_the_attribute_on_the_implementation_keeps_the_catalog_to_the_declaration()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile("""
            using Aim;
            namespace R;
            public abstract class Job
            {
                [SecureAction("job:run")]
                public abstract void Run();
            }
            public class Nightly : Job
            {
                [SecureAction("job:run")]
                public override void Run() { }
            }
            public sealed class Weekly : Nightly
            {
                [SecureAction("job:run")]
                public override void Run() { }
            }
            public static class Use
            {
                public static void Go() { new Weekly().Run(); new Nightly().Run(); }
            }
            """));

        Assert.Equal(["R.Job.Run()"], Regex.Matches(sources["AimActionCatalog.g.cs"], @"method: ""([^""]+)""").Select(m => m.Groups[1].Value));
        Assert.DoesNotContain("new global::Aim.ActionDescriptor(", sources["AimInterceptors.g.cs"]);
        Assert.Equal(2, Regex.Matches(sources["AimInterceptors.g.cs"], "InterceptsLocation\\(1").Count);
    }
}
