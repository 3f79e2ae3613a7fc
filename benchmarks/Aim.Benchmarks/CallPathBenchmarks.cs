using Aim.Engine;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>
/// The embedded call path for an allowed low-risk action: capability, attribute and context checks, an
/// "authorized" and an "outcome" record, each signed with the agent's Ed25519 key and committed to the
/// SQLite Merkle log by the group-commit writer. The baseline is the same body with no Aim at all.
/// </summary>
[MemoryDiagnoser]
public class CallPathBenchmarks
{
    private static readonly ActionDescriptor Read = new("db:read", resource: "users_table", method: "Bench.GetUsers(string)", parameterNames: ["tenant"]);
    private static readonly object?[] Args = ["acme"];
    private string _home = string.Empty;
    private AimRuntime _runtime = null!;
    private EmbeddedEngine _engine = null!;
    private int _counter;

    [GlobalSetup]
    public void Setup()
    {
        _home = Path.Combine(Path.GetTempPath(), "aim-bench-" + Guid.NewGuid().ToString("N"));
        _engine = EmbeddedEngine.Create(new AimOptions { AgentName = "bench-agent", Home = _home }.Grant("db:read@users_*"));
        _runtime = new AimRuntime(_engine);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_home, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "body alone")]
    public int Direct() => Body();

    [Benchmark(Description = "AimRuntime.Invoke, allowed low-risk, 2 signed audit entries")]
    public int Secured() => _runtime.Invoke(Read, Args, Body);

    private int Body() => Interlocked.Increment(ref _counter);
}
