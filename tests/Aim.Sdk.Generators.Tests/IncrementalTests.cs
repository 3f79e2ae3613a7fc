using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Aim.Sdk.Generators.Tests;

public sealed class IncrementalTests
{
    private static readonly string[] TrackedSteps =
    [
        SecureActionGenerator.Steps.Targets,
        SecureActionGenerator.Steps.CallSites,
        SecureActionGenerator.Steps.Facts,
        SecureActionGenerator.Steps.CollectedTargets,
        SecureActionGenerator.Steps.CollectedCallSites,
    ];

    [Fact]
    public void Unrelated_edit_leaves_every_tracked_step_cached_or_unchanged()
    {
        CSharpCompilation compilation = Harness.Compile(Sources.Shapes);
        GeneratorDriver driver = Harness.Driver().RunGenerators(compilation);

        CSharpCompilation edited = compilation.Clone().AddSyntaxTrees(
            CSharpSyntaxTree.ParseText("namespace Unrelated { internal static class Added { internal static int Value() => 42; } }", Harness.ParseOptions, path: "/src/Added.cs"));
        GeneratorRunResult second = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (string name in TrackedSteps)
        {
            Assert.True(second.TrackedSteps.TryGetValue(name, out var runs), "step not tracked: " + name);
            foreach (IncrementalGeneratorRunStep run in runs)
            {
                foreach (var (_, reason) in run.Outputs)
                {
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {reason}");
                }
            }
        }
    }

    [Fact]
    public void Editing_a_method_body_elsewhere_keeps_call_sites_cached()
    {
        string other = "namespace Other { internal static class Work { internal static int Value() => 1; } }";
        CSharpCompilation compilation = Harness.Compile([Sources.Shapes, other]);
        GeneratorDriver driver = Harness.Driver().RunGenerators(compilation);

        SyntaxTree old = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(other.Replace("=> 1", "=> 2"), Harness.ParseOptions, path: old.FilePath));
        GeneratorRunResult second = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (var (_, reason) in second.TrackedSteps[SecureActionGenerator.Steps.CollectedCallSites].SelectMany(r => r.Outputs))
        {
            Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, reason.ToString());
        }

        Assert.All(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(r => r.Outputs), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, o.Reason.ToString()));
    }

    [Fact]
    public void Adding_a_call_site_reruns_the_interceptor_output()
    {
        CSharpCompilation compilation = Harness.Compile(Sources.Shapes);
        GeneratorDriver driver = Harness.Driver().RunGenerators(compilation);

        CSharpCompilation edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(
            "namespace More { public static class C { public static int M() => Shapes.Service.Static(2); } }", Harness.ParseOptions, path: "/src/More.cs"));
        GeneratorRunResult second = driver.RunGenerators(edited).GetRunResult().Results.Single();

        Assert.Contains(second.TrackedSteps[SecureActionGenerator.Steps.CollectedCallSites].SelectMany(r => r.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
    }

    [Fact]
    public void A_declaration_change_in_another_file_rebinds_unchanged_call_sites()
    {
        string calls = "namespace D { public static class Calls { public static int Run(Tools t) => t.Read(1); } }";
        string tools = "using Aim; namespace D { public partial class Tools { [SecureAction(\"db:read\")] public int Read(long id) => 1; } }";
        CSharpCompilation compilation = Harness.Compile([calls, tools]);
        GeneratorDriver driver = Harness.Driver().RunGenerators(compilation);
        Assert.Contains(driver.GetRunResult().GeneratedTrees, t => t.FilePath.EndsWith("AimInterceptors.g.cs", StringComparison.Ordinal));

        // A better, unsecured overload declared in a third file: the unchanged call now binds to it.
        CSharpCompilation edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText(
            "namespace D { public partial class Tools { public int Read(int id) => 2; } }", Harness.ParseOptions, path: "/src/Overload.cs"));
        driver = driver.RunGenerators(edited);

        Assert.DoesNotContain(driver.GetRunResult().GeneratedTrees, t => t.FilePath.EndsWith("AimInterceptors.g.cs", StringComparison.Ordinal));
    }

    [Fact]
    public void Adding_the_attribute_in_another_file_intercepts_unchanged_call_sites()
    {
        string calls = "namespace D { public static class Calls { public static int Run(Tools t) => t.Read(1); } }";
        string tools = "namespace D { public partial class Tools { public int Read(int id) => 1; } }";
        CSharpCompilation compilation = Harness.Compile([calls, tools]);
        GeneratorDriver driver = Harness.Driver().RunGenerators(compilation);

        SyntaxTree old = compilation.SyntaxTrees.Last();
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(
            "namespace D { public partial class Tools { [Aim.SecureAction(\"db:read\")] public int Read(int id) => 1; } }", Harness.ParseOptions, path: old.FilePath));
        driver = driver.RunGenerators(edited);

        Assert.Contains(driver.GetRunResult().GeneratedTrees, t => t.FilePath.EndsWith("AimInterceptors.g.cs", StringComparison.Ordinal));
    }

    [Fact]
    public void Pipeline_outputs_hold_no_compilation_symbol_or_syntax()
    {
        GeneratorDriver driver = Harness.Driver().RunGenerators(Harness.Compile(Sources.Shapes));
        GeneratorRunResult result = driver.GetRunResult().Results.Single();

        foreach (string name in TrackedSteps)
        {
            foreach (var (value, _) in result.TrackedSteps[name].SelectMany(r => r.Outputs))
            {
                AssertNoRoslynObjects(value, name, new HashSet<object>(ReferenceEqualityComparer.Instance));
            }
        }
    }

    [Theory]
    [InlineData(typeof(ActionModel))]
    [InlineData(typeof(TargetModel))]
    [InlineData(typeof(InterceptorModel))]
    [InlineData(typeof(CallSiteModel))]
    [InlineData(typeof(CompilationFacts))]
    public void Model_types_declare_no_roslyn_fields(Type model)
    {
        var seen = new HashSet<Type>();
        AssertNoRoslynFieldTypes(model, seen);
    }

    private static bool IsRoslynObjectType(Type type) =>
        typeof(Compilation).IsAssignableFrom(type) || typeof(ISymbol).IsAssignableFrom(type) || typeof(SyntaxNode).IsAssignableFrom(type)
        || typeof(SemanticModel).IsAssignableFrom(type) || typeof(Location).IsAssignableFrom(type) || typeof(SyntaxTree).IsAssignableFrom(type);

    private static void AssertNoRoslynFieldTypes(Type type, HashSet<Type> seen)
    {
        if (!seen.Add(type) || type.IsPrimitive || type == typeof(string) || type.IsEnum)
        {
            return;
        }

        Assert.False(IsRoslynObjectType(type), "model holds a Roslyn type: " + type);
        foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            Type fieldType = field.FieldType.IsArray ? field.FieldType.GetElementType()! : field.FieldType;
            Assert.False(fieldType == typeof(object), $"{type.Name}.{field.Name} is typed object");
            AssertNoRoslynFieldTypes(fieldType, seen);
            foreach (Type argument in fieldType.IsGenericType ? fieldType.GetGenericArguments() : [])
            {
                AssertNoRoslynFieldTypes(argument, seen);
            }
        }
    }

    private static void AssertNoRoslynObjects(object? value, string step, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !seen.Add(value))
        {
            return;
        }

        Assert.False(IsRoslynObjectType(value.GetType()), $"step {step} holds {value.GetType()}");
        if (value is IEnumerable items)
        {
            foreach (object? item in items)
            {
                AssertNoRoslynObjects(item, step, seen);
            }
        }

        foreach (FieldInfo field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            AssertNoRoslynObjects(field.GetValue(value), step, seen);
        }
    }
}
