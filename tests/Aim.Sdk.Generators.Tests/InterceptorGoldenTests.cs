using System.Collections.Immutable;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// Golden files of the generated code, one pair per call shape in <c>Golden/</c>: <c>Shape.input.cs</c> is the user
/// code, <c>Shape.output.cs</c> every file the generator emits for it (each after a <c>//// hint-name</c> line). The
/// comparison, and the check that input plus output compiles, run in Microsoft.CodeAnalysis.Testing's
/// <c>CSharpSourceGeneratorTest</c>. <c>AIM_UPDATE_GOLDEN=1</c> rewrites the .output.cs files from the current generator.
/// </summary>
public sealed partial class InterceptorGoldenTests
{
    /// <summary>Where the harness puts the first source file; the generated location comments name it.</summary>
    private const string SourcePath = "/0/Test0.cs";

    /// <summary>The harness's default project (and so assembly) name, which the catalog records.</summary>
    private const string AssemblyName = "TestProject";

    private const string Marker = "//// ";

    private static string GoldenDirectory =>
        TestReferences.Metadata("GoldenDirectory") is { } dir && Directory.Exists(dir)
            ? dir
            : throw new InvalidOperationException("The Golden folder of the test project was not found.");

    private static bool Updating => Environment.GetEnvironmentVariable("AIM_UPDATE_GOLDEN") == "1";

    public static TheoryData<string> Shapes()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(GoldenDirectory, "*.input.cs").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file)[..^".input.cs".Length]);
        }

        return data;
    }

    [Fact]
    public void Every_call_shape_has_a_golden_pair()
    {
        string[] expected =
        [
            "ExtensionMethod", "GenericMethod", "GenericType", "InstanceMethod", "InterfaceMethod", "JitAndRisk",
            "NullableAndConditionalAccess", "OptionalArguments", "Overloads", "ParamsArray", "RefOutIn", "StaticMethod",
            "StructMethods", "TaskMethods", "ValueTaskMethods", "VirtualAndOverride", "VoidMethod",
        ];
        Assert.Equal(expected, Shapes().Cast<object[]>().Select(row => (string)row[0]));
        foreach (string shape in expected)
        {
            Assert.True(File.Exists(Path.Combine(GoldenDirectory, shape + ".output.cs")), $"{shape}.output.cs is missing: run the tests with AIM_UPDATE_GOLDEN=1");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Generated_code_matches_the_golden_file(string shape)
    {
        string input = await File.ReadAllTextAsync(Path.Combine(GoldenDirectory, shape + ".input.cs"));
        string outputPath = Path.Combine(GoldenDirectory, shape + ".output.cs");
        if (Updating)
        {
            await File.WriteAllTextAsync(outputPath, Render(Generate(input)));
        }

        Assert.True(File.Exists(outputPath), $"{outputPath} is missing: run the tests with AIM_UPDATE_GOLDEN=1");
        var test = new AimGeneratorTest();
        test.TestState.Sources.Add((SourcePath, input));
        foreach (var (hint, text) in Parse(await File.ReadAllTextAsync(outputPath)))
        {
            test.TestState.GeneratedSources.Add((typeof(SecureActionGenerator), hint, SourceText.From(text, Encoding.UTF8)));
        }

        await test.RunAsync();
    }

    [Fact]
    public void Golden_format_round_trips()
    {
        var files = ImmutableArray.Create(("A.g.cs", "namespace A;\n"), ("B.g.cs", "// b\nclass B { }\n"));
        Assert.Equal(files.ToArray(), Parse(Render(files)).ToArray());
        Assert.Throws<InvalidOperationException>(() => Render([("C.g.cs", "no final newline")]));
        Assert.Throws<InvalidOperationException>(() => Parse("class Orphan { }\n"));
    }

    /// <summary>Runs the generator the way the harness does (same path, assembly name, options and references).</summary>
    private static ImmutableArray<(string Hint, string Text)> Generate(string input)
    {
        var tree = CSharpSyntaxTree.ParseText(input, Harness.ParseOptions, SourcePath, Encoding.UTF8);
        var compilation = CSharpCompilation.Create(
            AssemblyName,
            [tree],
            TestReferences.All,
            (CSharpCompilationOptions)TestReferences.Options(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary), allowUnsafe: false));
        var result = CSharpGeneratorDriver.Create([new SecureActionGenerator().AsSourceGenerator()], parseOptions: Harness.ParseOptions)
            .RunGenerators(compilation)
            .GetRunResult();
        return [.. result.Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).OrderBy(s => s.HintName, StringComparer.Ordinal)];
    }

    private static string Render(IEnumerable<(string Hint, string Text)> files)
    {
        var builder = new StringBuilder();
        foreach (var (hint, text) in files)
        {
            if (!text.EndsWith('\n'))
            {
                throw new InvalidOperationException($"{hint} does not end with a newline; the golden format needs one.");
            }

            builder.Append(Marker).Append(hint).Append('\n').Append(text);
        }

        return builder.ToString();
    }

    private static ImmutableArray<(string Hint, string Text)> Parse(string golden)
    {
        var markers = MarkerLine().Matches(golden);
        if (markers.Count == 0 || markers[0].Index != 0)
        {
            throw new InvalidOperationException("A golden .output.cs starts with a '//// <hint name>' line.");
        }

        var files = ImmutableArray.CreateBuilder<(string, string)>();
        for (int i = 0; i < markers.Count; i++)
        {
            int start = markers[i].Index + markers[i].Length;
            int end = i + 1 < markers.Count ? markers[i + 1].Index : golden.Length;
            files.Add((markers[i].Groups[1].Value, golden[start..end]));
        }

        return files.ToImmutable();
    }

    [GeneratedRegex(@"^//// (\S+)\n", RegexOptions.Multiline)]
    private static partial Regex MarkerLine();
}
