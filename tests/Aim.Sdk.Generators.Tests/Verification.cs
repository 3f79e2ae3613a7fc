using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// References for Microsoft.CodeAnalysis.Testing, offline: <c>ReferenceAssemblies.Net.Net100</c> would download a
/// Microsoft.NETCore.App.Ref version the registry does not serve, so the framework comes from the SDK's own targeting
/// pack (<c>&lt;dotnet&gt;/packs/Microsoft.NETCore.App.Ref/&lt;version&gt;/ref/net10.0</c>) and Aim's assemblies from the
/// test output.
/// </summary>
internal static class TestReferences
{
    /// <summary>A target framework with no reference package: nothing is resolved through NuGet.</summary>
    public static readonly ReferenceAssemblies None = new("net10.0");

    private static readonly Lazy<ImmutableArray<MetadataReference>> LazyAll = new(() =>
    {
        var framework = Directory.GetFiles(TargetingPackDirectory(), "*.dll");
        var aim = new[] { "Aim.Sdk.dll", "Aim.Core.dll", "Aim.Crypto.dll" }.Select(f => Path.Combine(AppContext.BaseDirectory, f));
        return [.. framework.Concat(aim).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    /// <summary>The framework's reference assemblies plus Aim.Sdk, Aim.Core and Aim.Crypto.</summary>
    public static ImmutableArray<MetadataReference> All => LazyAll.Value;

    /// <summary>The targeting pack's <c>ref/net10.0</c>: the version this SDK builds against, else the newest installed.</summary>
    /// <exception cref="InvalidOperationException">No Microsoft.NETCore.App.Ref 10 pack is installed with the SDK.</exception>
    public static string TargetingPackDirectory()
    {
        string root = Metadata("NetCoreTargetingPackRoot") is { Length: > 0 } r
            ? r
            : Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/'))))!, "packs");
        string packs = Path.Combine(root, "Microsoft.NETCore.App.Ref");
        string? preferred = Metadata("BundledNETCoreAppPackageVersion");
        var candidates = Directory.Exists(packs)
            ? Directory.GetDirectories(packs).Select(d => Path.Combine(d, "ref", "net10.0")).Where(Directory.Exists).ToList()
            : [];
        string? chosen = candidates.FirstOrDefault(d => preferred is not null && d.Contains("/" + preferred + "/", StringComparison.Ordinal))
            ?? candidates.OrderByDescending(d => Version.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(d))), out var v) ? v : new Version()).FirstOrDefault();
        return chosen ?? throw new InvalidOperationException($"No Microsoft.NETCore.App.Ref pack with ref/net10.0 under {packs}: the .NET 10 SDK installs one.");
    }

    internal static string? Metadata(string key) =>
        typeof(TestReferences).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

    /// <summary>Applies the project settings every Aim test compilation uses.</summary>
    public static void Configure(SolutionState state)
    {
        state.AdditionalReferences.AddRange(All);
    }

    public static CompilationOptions Options(CompilationOptions options, bool allowUnsafe) =>
        ((CSharpCompilationOptions)options).WithNullableContextOptions(NullableContextOptions.Enable).WithAllowUnsafe(allowUnsafe);
}

/// <summary>An analyzer test on Aim's settings: preview language with the interceptors feature, nullable on.</summary>
internal sealed class AimAnalyzerTest<TAnalyzer> : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    public AimAnalyzerTest(string source, params DiagnosticResult[] expected)
    {
        ReferenceAssemblies = TestReferences.None;
        TestReferences.Configure(TestState);
        TestCode = source;
        ExpectedDiagnostics.AddRange(expected);
    }

    public bool AllowUnsafe { get; init; }

    /// <summary>Per-rule severities, as a project's rule settings (<c>/warnaserror:AIM004</c>, NoWarn) would set them.</summary>
    public ImmutableDictionary<string, ReportDiagnostic> RuleSeverities { get; init; } = ImmutableDictionary<string, ReportDiagnostic>.Empty;

    protected override ParseOptions CreateParseOptions() => Harness.ParseOptions;

    protected override CompilationOptions CreateCompilationOptions() =>
        TestReferences.Options(base.CreateCompilationOptions(), AllowUnsafe).WithSpecificDiagnosticOptions(RuleSeverities);
}

/// <summary>A code-fix test on Aim's settings.</summary>
internal sealed class AimCodeFixTest<TAnalyzer, TCodeFix> : CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public AimCodeFixTest()
    {
        ReferenceAssemblies = TestReferences.None;
        TestReferences.Configure(TestState);
        TestReferences.Configure(FixedState);
    }

    protected override ParseOptions CreateParseOptions() => Harness.ParseOptions;

    protected override CompilationOptions CreateCompilationOptions() => TestReferences.Options(base.CreateCompilationOptions(), allowUnsafe: false);
}

/// <summary>A generator test on Aim's settings: every generated file is compared and the result must compile.</summary>
internal sealed class AimGeneratorTest : CSharpSourceGeneratorTest<SecureActionGenerator, DefaultVerifier>
{
    public AimGeneratorTest()
    {
        ReferenceAssemblies = TestReferences.None;
        TestReferences.Configure(TestState);
    }

    protected override ParseOptions CreateParseOptions() => Harness.ParseOptions;

    protected override CompilationOptions CreateCompilationOptions() => TestReferences.Options(base.CreateCompilationOptions(), allowUnsafe: false);
}
