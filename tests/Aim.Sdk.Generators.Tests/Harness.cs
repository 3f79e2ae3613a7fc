using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Aim.Sdk.Generators.Tests;

/// <summary>Builds test compilations against the real runtime, runs the generator and analyzers, loads the output.</summary>
internal static class Harness
{
    public static readonly CSharpParseOptions ParseOptions = new CSharpParseOptions(LanguageVersion.Preview)
        .WithFeatures([new KeyValuePair<string, string>("InterceptorsNamespaces", "Aim.Generated")]);

    private static readonly Lazy<ImmutableArray<MetadataReference>> LazyReferences = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("Aim.", StringComparison.Ordinal))
            .ToList();
        paths.AddRange(new[] { "Aim.Sdk.dll", "Aim.Core.dll", "Aim.Crypto.dll" }.Select(f => Path.Combine(AppContext.BaseDirectory, f)).Where(File.Exists));
        return [.. paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    public static ImmutableArray<MetadataReference> References => LazyReferences.Value;

    public static CSharpCompilation Compile(string source, string assemblyName = "TestAssembly", IEnumerable<MetadataReference>? extra = null) =>
        Compile([source], assemblyName, extra);

    public static CSharpCompilation Compile(IEnumerable<string> sources, string assemblyName = "TestAssembly", IEnumerable<MetadataReference>? extra = null) =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"/src/File{i}.cs")),
            References.AddRange(extra ?? []),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(bool trackSteps = true) =>
        CSharpGeneratorDriver.Create(
            [new SecureActionGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator; returns the output compilation and the generated sources by hint name.</summary>
    public static (Compilation Output, ImmutableArray<Diagnostic> Diagnostics, Dictionary<string, string> Sources) Generate(Compilation input)
    {
        GeneratorDriver driver = Driver().RunGeneratorsAndUpdateCompilation(input, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        var sources = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources)
            .ToDictionary(s => s.HintName, s => s.SourceText.ToString());
        return (output, diagnostics, sources);
    }

    /// <summary>Errors and warnings (hidden and info diagnostics ignored).</summary>
    public static List<Diagnostic> Problems(Compilation compilation) =>
        [.. compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning)];

    public static string Describe(IEnumerable<Diagnostic> diagnostics, IReadOnlyDictionary<string, string>? sources = null) =>
        string.Join("\n", diagnostics.Select(d => d.ToString()))
        + (sources is null ? string.Empty : "\n\n" + string.Join("\n\n", sources.Select(s => "// " + s.Key + "\n" + s.Value)));

    /// <summary>Generates, asserts the output compiles cleanly, emits and loads it in a collectible context.</summary>
    public static LoadedAssembly BuildAndLoad(string source, string assemblyName)
    {
        var (output, _, sources) = Generate(Compile(source, assemblyName));
        var problems = Problems(output);
        Assert.True(problems.Count == 0, Describe(problems, sources));
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        Assert.True(emit.Success, Describe(emit.Diagnostics));
        stream.Position = 0;
        var context = new AssemblyLoadContext(assemblyName, isCollectible: true);
        return new LoadedAssembly(context, context.LoadFromStream(stream));
    }

    /// <summary>Runs the given analyzers over the compilation (without generated code).</summary>
    public static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(Compilation compilation, ImmutableArray<AdditionalText> additionalFiles = default, params DiagnosticAnalyzer[] analyzers)
    {
        if (analyzers.Length == 0)
        {
            analyzers = [new SecureActionAttributeAnalyzer(), new UnguardedUseAnalyzer()];
        }

        var options = new AnalyzerOptions(additionalFiles.IsDefault ? [] : additionalFiles);
        return await compilation.WithAnalyzers([.. analyzers], options).GetAnalyzerDiagnosticsAsync();
    }
}

/// <summary>A test assembly loaded in its own collectible context (unloaded on dispose). Aim.* resolve from the default context, so the runtime is shared.</summary>
internal sealed class LoadedAssembly(AssemblyLoadContext context, Assembly assembly) : IDisposable
{
    public Assembly Assembly { get; } = assembly;

    public object? CallStatic(string type, string method, params object?[] args)
    {
        try
        {
            return Assembly.GetType(type, throwOnError: true)!.GetMethod(method, BindingFlags.Public | BindingFlags.Static)!.Invoke(null, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }

    public void Dispose() => context.Unload();
}

/// <summary>An in-memory additional file (aim.json).</summary>
internal sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
{
    public override string Path { get; } = path;

    public override Microsoft.CodeAnalysis.Text.SourceText GetText(CancellationToken cancellationToken = default) =>
        Microsoft.CodeAnalysis.Text.SourceText.From(text);
}
