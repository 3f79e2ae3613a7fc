#if AIM_GENERATOR_BENCHMARKS
// Enabled by <DefineConstants>$(DefineConstants);AIM_GENERATOR_BENCHMARKS</DefineConstants> together with references to
// src/Aim.Sdk, analyzers/Aim.Sdk.Generators and the Microsoft.CodeAnalysis.CSharp package (see benchmarks/README.md).
using System.Collections.Immutable;
using System.Text;
using Aim.Sdk.Generators;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Aim.Benchmarks;

/// <summary>
/// Generator time on a compilation with 500 call sites of 10 secured methods spread over 25 files
/// (targets: under 150 ms cold, under 5 ms after an unrelated edit). "Unrelated edit" is an edit inside
/// a method body of another file, the common case while typing; an edit that changes declarations
/// (a new type or member anywhere) makes every call site bind again, by design, and is measured too.
/// </summary>
[MemoryDiagnoser]
public class GeneratorBenchmarks
{
    internal const int CallSites = 500;
    private const int Files = 25;
    private const string Other = "namespace Bench { internal static class Other { internal static int Value() { return 1; } } }";

    private CSharpCompilation _compilation = null!;
    private CSharpCompilation _bodyEdited = null!;
    private CSharpCompilation _declarationEdited = null!;
    private int _edits;
    private CSharpCompilation _fresh = null!;
    private GeneratorDriver _warm = null!;

    internal static readonly CSharpParseOptions ParseOptions = new CSharpParseOptions(LanguageVersion.Preview)
        .WithFeatures([new KeyValuePair<string, string>("InterceptorsNamespaces", "Aim.Generated")]);

    private static readonly ImmutableArray<MetadataReference> CachedReferences = References();

    internal static ImmutableArray<MetadataReference> References()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("Aim.", StringComparison.Ordinal))
            .Concat([typeof(AimRuntime).Assembly.Location, typeof(RiskLevel).Assembly.Location, typeof(Aim.Crypto.Ed25519).Assembly.Location])
            .Distinct();
        return [.. paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }

    internal static GeneratorDriver NewDriver() =>
        CSharpGeneratorDriver.Create([new SecureActionGenerator().AsSourceGenerator()], parseOptions: ParseOptions);

    /// <summary>A compilation with freshly parsed trees: nothing cached from earlier runs.</summary>
    private static CSharpCompilation Create()
    {
        var trees = new List<SyntaxTree>
        {
            CSharpSyntaxTree.ParseText(Tools(), ParseOptions, path: "/bench/Tools.cs"),
            CSharpSyntaxTree.ParseText(Other, ParseOptions, path: "/bench/Other.cs"),
        };
        for (int f = 0; f < Files; f++)
        {
            trees.Add(CSharpSyntaxTree.ParseText(Calls(f), ParseOptions, path: $"/bench/Calls{f}.cs"));
        }

        return CSharpCompilation.Create("GeneratorBench", trees, CachedReferences, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
    }

    [GlobalSetup]
    public void Setup()
    {
        _compilation = Create();
        SyntaxTree other = _compilation.SyntaxTrees.Single(t => t.FilePath == "/bench/Other.cs");
        _bodyEdited = _compilation.ReplaceSyntaxTree(other, CSharpSyntaxTree.ParseText(Other.Replace("return 1;", "return 2;"), ParseOptions, path: other.FilePath));
        _warm = NewDriver().RunGenerators(_compilation);
        if (_warm.GetRunResult().Results.Single().GeneratedSources.Length != 2)
        {
            throw new InvalidOperationException("the generator did not produce the catalog and the interceptors");
        }
    }

    [IterationSetup(Target = nameof(Cold))]
    public void FreshCompilation() => _fresh = Create();

    [Benchmark(Description = "Generator, cold (500 call sites)")]
    public GeneratorDriver Cold() => NewDriver().RunGenerators(_fresh);

    [Benchmark(Description = "Generator, after an unrelated (body) edit")]
    public GeneratorDriver AfterUnrelatedEdit() => _warm.RunGenerators(_bodyEdited);

    [IterationSetup(Target = nameof(AfterDeclarationEdit))]
    public void NewDeclaration()
    {
        // A different declaration each time, so no earlier run's bindings can be reused.
        SyntaxTree other = _compilation.SyntaxTrees.Single(t => t.FilePath == "/bench/Other.cs");
        string added = $" namespace Bench {{ internal static class Added{++_edits} {{ }} }}";
        _declarationEdited = _compilation.ReplaceSyntaxTree(other, CSharpSyntaxTree.ParseText(Other + added, ParseOptions, path: other.FilePath));
    }

    [Benchmark(Description = "Generator, after a declaration edit")]
    public GeneratorDriver AfterDeclarationEdit() => _warm.RunGenerators(_declarationEdited);

    private static string Tools()
    {
        var sb = new StringBuilder("using System.Threading.Tasks;\nusing Aim;\nnamespace Bench;\npublic sealed class Tools\n{\n");
        for (int m = 0; m < 10; m++)
        {
            sb.Append($"    [SecureAction(\"db:read\")] public int Read{m}(int id, string name) => id + name.Length;\n");
        }

        return sb.Append("}\n").ToString();
    }

    private static string Calls(int file)
    {
        var sb = new StringBuilder($"namespace Bench;\npublic static class Calls{file}\n{{\n    public static int Run(Tools t)\n    {{\n        int total = 0;\n");
        for (int i = 0; i < CallSites / Files; i++)
        {
            sb.Append($"        total += t.Read{i % 10}({i}, \"n\");\n");
        }

        return sb.Append("        return total;\n    }\n}\n").ToString();
    }
}
#endif
