#if AIM_GENERATOR_BENCHMARKS
using System.Reflection;
using System.Runtime.Loader;
using Aim.Audit;
using Aim.Authorization;
using Aim.Engine;
using Aim.Identity;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Aim.Benchmarks;

/// <summary>
/// Runtime overhead of a generated interceptor versus calling <see cref="AimRuntime"/> by hand with the
/// same descriptor and arguments (target: under 1 us difference). With the embedded engine both calls
/// authorize, sign and append to the audit log; with an engine that allows everything and records
/// nothing, what remains is the runtime's and the interceptor's own cost.
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

    [Params("embedded", "allow-all")]
    public string Engine { get; set; } = "embedded";

    private readonly string _home = Path.Combine(Path.GetTempPath(), "aim-bench-interception-" + Guid.NewGuid().ToString("N"));
    private AimAgent? _agent;
    private AimRuntime? _runtime;
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
        if (Engine == "embedded")
        {
            _agent = AimAgent.Secure("bench-interception", o =>
            {
                o.Home = _home;
                o.Grant("db:read");
            });
        }
        else
        {
            _runtime = new AimRuntime(new AllowAllEngine());
            AimRuntime.SetGlobal(_runtime);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _agent?.Dispose();
        if (_runtime is not null)
        {
            AimRuntime.SetGlobal(null);
            _runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

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

    /// <summary>Allows every action and records nothing: isolates the call path's own overhead.</summary>
    private sealed class AllowAllEngine : IAimEngine
    {
        public AgentIdentity Agent { get; } = new(Guid.NewGuid(), "bench-allow-all", Aim.Crypto.Ed25519KeyPair.Generate().PublicKey);

        public ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(AuthorizationDecision.Allow);

        public ValueTask RecordAsync(AuditRecord record, bool waitForDurable, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
#endif
