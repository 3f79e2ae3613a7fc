using Aim.Audit;
using Aim.Authorization;
using Aim.Engine;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>
/// The embedded call path for an allowed low-risk action: capability, attribute and context checks, an
/// "authorized" and an "outcome" record, each signed with the agent's Ed25519 key and committed to the
/// SQLite Merkle log by the group-commit writer. The baseline is the same body with no Aim at all. The pieces the caller's
/// thread runs are measured alone too (authorize, arguments digest, audit record preparation), to say where its time and
/// allocations go; the signatures and the commit run on the log's writer threads.
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
    private ActionRequest _request = null!;
    private AuditRecord _record = null!;

    [GlobalSetup]
    public void Setup()
    {
        _home = Path.Combine(Path.GetTempPath(), "aim-bench-" + Guid.NewGuid().ToString("N"));
        _engine = EmbeddedEngine.Create(new AimOptions { AgentName = "bench-agent", Home = _home }.Grant("db:read@users_*"));
        _runtime = new AimRuntime(_engine);
        _request = new ActionRequest
        {
            ActionId = Guid.CreateVersion7().ToString("N"),
            Agent = _engine.Agent,
            Capability = Read.Capability,
            Resource = Read.Resource,
            Risk = Read.EffectiveRisk,
            Method = Read.Method,
            ParameterNames = Read.ParameterNames,
            Arguments = Args,
            Time = DateTimeOffset.UtcNow,
        };
        _record = new AuditRecord
        {
            ActionId = _request.ActionId,
            Kind = AuditEntryKind.Authorized,
            AgentId = _engine.Agent.Id.ToString(),
            AgentName = _engine.Agent.Name,
            Capability = Read.CapabilityName,
            Resource = Read.Resource,
            Risk = Read.EffectiveRisk,
            Decision = "allow",
            Method = Read.Method,
            ArgumentsDigest = ArgumentRecorder.Describe(Read, Args).Digest,
        };
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

    [Benchmark(Description = "piece: authorize (steps 1-3, in-memory limits)")]
    public bool Authorize()
    {
        var pending = _engine.AuthorizeAsync(_request, CancellationToken.None);
        return pending.IsCompletedSuccessfully ? pending.Result.Allowed : pending.AsTask().GetAwaiter().GetResult().Allowed;
    }

    [Benchmark(Description = "piece: arguments digest (SHA-256 of canonical JSON)")]
    public string? Digest() => ArgumentRecorder.Describe(Read, Args).Digest;

    [Benchmark(Description = "piece: audit record preparation (checks, canonical JSON)")]
    public int Prepare()
    {
        var prepared = AuditEntryCodec.Prepare(_record, _engine.Agent.PublicKey.Span);
        prepared.ReturnBuffer(); // as the log does once the entry is committed
        return prepared.Length;
    }

    private int Body() => Interlocked.Increment(ref _counter);
}
