using Aim.Audit;
using Aim.Crypto;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>
/// The audit log's speed targets: durable group-commit appends (over 20,000/s), inclusion proof verification
/// (under 20 us) and full verification of a 100,000-entry log (under 3 s on 2 cores).
/// </summary>
[MemoryDiagnoser]
public class AuditBenchmarks
{
    private const int AppendBurst = 4096;
    private const int LargeLogSize = 100_000;

    private string _dir = "";
    private Ed25519KeyPair _logKey = null!;
    private Ed25519KeyPair _agentKey = null!;
    private AuditLog? _appendLog;
    private AuditRecord[] _records = [];
    private string _largeLogPath = "";
    private AuditLog? _largeLog;
    private byte[] _leafHash = [];
    private byte[] _root = [];
    private InclusionProof _proof = null!;

    [GlobalSetup(Target = nameof(DurableAppends))]
    public void SetupAppends()
    {
        CommonSetup();
        _appendLog = AuditLog.Open(Path.Combine(_dir, "append.db"), _logKey);
        _records = Enumerable.Range(0, AppendBurst).Select(Record).ToArray();
    }

    [GlobalSetup(Targets = [nameof(VerifyInclusionProof), nameof(GetInclusionProof), nameof(VerifyLargeLog)])]
    public void SetupLargeLog()
    {
        CommonSetup();
        _largeLogPath = Path.Combine(_dir, "large.db");
        using (var log = AuditLog.Open(_largeLogPath, _logKey))
        {
            var tasks = new List<Task<long>>(LargeLogSize);
            for (var i = 0; i < LargeLogSize; i++)
            {
                tasks.Add(log.AppendAsync(Record(i), _agentKey).AsTask());
            }

            Task.WaitAll(tasks);
        }

        _largeLog = AuditLog.Open(_largeLogPath, _logKey);
        var head = _largeLog.CreateTreeHead();
        _root = head.RootHash;
        var index = 61_803;
        _leafHash = _largeLog.Get(index)!.LeafHash;
        _proof = _largeLog.GetInclusionProof(index, head.TreeSize);
        if (!InclusionProof.Verify(_leafHash, _proof, _root))
        {
            throw new InvalidOperationException("The benchmark's inclusion proof does not verify.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _appendLog?.Dispose();
        _largeLog?.Dispose();
        _logKey.Dispose();
        _agentKey.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>One durable append, measured over bursts of concurrent appends (group commit, synchronous=FULL).</summary>
    [Benchmark(OperationsPerInvoke = AppendBurst, Description = "durable append (group commit), per entry")]
    public async Task DurableAppends()
    {
        var tasks = new Task<long>[AppendBurst];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = _appendLog!.AppendAsync(_records[i], _agentKey).AsTask();
        }

        await Task.WhenAll(tasks);
    }

    [Benchmark(Description = "inclusion proof verify (100k tree)")]
    public bool VerifyInclusionProof() => InclusionProof.Verify(_leafHash, _proof, _root);

    [Benchmark(Description = "inclusion proof build from SQLite (100k tree)")]
    public InclusionProof GetInclusionProof() => _largeLog!.GetInclusionProof(61_803, LargeLogSize);

    [Benchmark(Description = "full verification, 100k entries")]
    public bool VerifyLargeLog()
    {
        var result = AuditVerifier.VerifyFile(_largeLogPath);
        return result.IsValid ? true : throw new InvalidOperationException(result.Message);
    }

    private void CommonSetup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "aim-audit-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _logKey = Ed25519KeyPair.Generate();
        _agentKey = Ed25519KeyPair.Generate();
    }

    internal static AuditRecord Record(int n) => new()
    {
        ActionId = "act-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Kind = AuditEntryKind.Authorized,
        AgentId = "5f1c8a8e-8d2c-4d3e-9a57-0b4c1e2f3a4b",
        AgentName = "bench-agent",
        Capability = "db:read",
        Resource = "users_table",
        Risk = RiskLevel.Low,
        Decision = "allow",
        ReasonCode = "granted",
        ArgumentsDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        DurationMs = 1.25,
    };
}
