#if AIM_GENERATOR_BENCHMARKS
using System.Reflection;
using System.Runtime.Loader;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Aim.Benchmarks;

/// <summary>
/// Runtime overhead of a generated interceptor versus calling <see cref="AimRuntime"/> by hand with the
/// same descriptor and arguments (target: under 1 us difference). Both go through the embedded engine,
/// which authorizes, signs and appends to the audit log; the difference is the interceptor's own cost.
/// </summary>
[MemoryDiagnoser]
public class GeneratorInterceptionBenchmarks
{
    private const string Source = """
        using Aim;
        namespace Bench;
        public sealed class Tools
        {
            [SecureAction("db:read")]
            public int Read(int id) => id + 1;

            public int ReadPlain(int id) => id + 1;
        }
        public static class Calls
        {
            private static readonly ActionDescriptor Manual = new("db:read", method: "Bench.Tools.ReadPlain(int)", parameterNames: new[] { "id" });

            public static int Intercepted(Tools tools) => tools.Read(1);

            public static int ByHand(Tools tools) => AimRuntime.Current.Invoke(Manual, new object?[] { 1 }, () => tools.ReadPlain(1));
        }
        """;

    private readonly string _home = Path.Combine(Path.GetTempPath(), "aim-bench-interception-" + Guid.NewGuid().ToString("N"));
    private AimAgent _agent = null!;
    private AssemblyLoadContext _context = null!;
    private Func<object, int> _intercepted = null!;
    private Func<object, int> _byHand = null!;
    private object _tools = null!;

    [GlobalSetup]
    public void Setup()
    {
        var compilation = CSharpCompilation.Create(
            "InterceptionBench",
            [CSharpSyntaxTree.ParseText(Source, GeneratorBenchmarks.ParseOptions)],
            GeneratorBenchmarks.References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorBenchmarks.NewDriver().RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out _);
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        if (!emit.Success)
        {
            throw new InvalidOperationException(string.Join("\n", emit.Diagnostics));
        }

        stream.Position = 0;
        _context = new AssemblyLoadContext("InterceptionBench", isCollectible: true);
        Assembly assembly = _context.LoadFromStream(stream);
        Type calls = assembly.GetType("Bench.Calls", throwOnError: true)!;
        Type tools = assembly.GetType("Bench.Tools", throwOnError: true)!;
        _tools = Activator.CreateInstance(tools)!;
        _intercepted = Wrap(calls.GetMethod("Intercepted")!, tools);
        _byHand = Wrap(calls.GetMethod("ByHand")!, tools);
        _agent = AimAgent.Secure("bench-interception", o =>
        {
            o.Home = _home;
            o.Grant("db:read");
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _agent.Dispose();
        _context.Unload();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Benchmark(Baseline = true, Description = "AimRuntime.Invoke by hand")]
    public int ByHand() => _byHand(_tools);

    [Benchmark(Description = "Intercepted [SecureAction] call")]
    public int Intercepted() => _intercepted(_tools);

    private static Func<object, int> Wrap(MethodInfo method, Type tools)
    {
        // A typed delegate (no reflection per call): Func<Tools, int> adapted to object.
        Type funcType = typeof(Func<,>).MakeGenericType(tools, typeof(int));
        Delegate typed = method.CreateDelegate(funcType);
        var invoke = typeof(GeneratorInterceptionBenchmarks).GetMethod(nameof(Adapt), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(tools);
        return (Func<object, int>)invoke.Invoke(null, [typed])!;
    }

    private static Func<object, int> Adapt<T>(Func<T, int> typed) => o => typed((T)o);
}
#endif
