using Aim.Capabilities;
using Aim.Policy;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>The per-call cost of the checks every secured action goes through: risk classification, grant and resource matching, rate limiting.</summary>
[MemoryDiagnoser]
public class RiskAndPolicyBenchmarks
{
    private static readonly Capability DbRead = Capability.Parse("db:read");
    private static readonly Capability EmailSend = Capability.Parse("email:send");
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly AgentPolicy _policy = new AgentPolicy.Builder("bench")
        .Grant("weather:get", "db:write@orders_*", "file:read@s3://bucket/*", "db:read@users_*", "email:send")
        .Build();

    private readonly ResourcePattern _hostile = ResourcePattern.Parse(string.Concat(Enumerable.Repeat("a*", 100)) + "b");
    private readonly ResourcePattern _hostileQuestionMarks = ResourcePattern.Parse("*" + string.Concat(Enumerable.Repeat("a?", 100)) + "b*");
    private readonly ResourcePattern _hostileLongPiece = ResourcePattern.Parse("*" + new string('a', 200) + "b*");
    private readonly ResourcePattern _typical = ResourcePattern.Parse("s3://bucket/reports/*");
    private readonly string _hostileText = new('a', ResourcePattern.MaxResourceLength);
    private readonly RateLimiter _limiter = new(new AgentPolicy.Builder("bench").RateLimit("email:*", 100_000, TimeSpan.FromTicks(1)).Build());
    private long _tick;

    [Benchmark(Description = "Classify specific (db:read)")]
    public RiskAssessment ClassifySpecific() => RiskClassifier.Classify("db:read");

    [Benchmark(Description = "Classify max(namespace,action) (payment:refund)")]
    public RiskAssessment ClassifyMax() => RiskClassifier.Classify("payment:refund");

    [Benchmark(Description = "Classify default (crm:frobnicate)")]
    public RiskAssessment ClassifyDefault() => RiskClassifier.Classify("crm:frobnicate");

    [Benchmark(Description = "CheckCapability, 5 grants, resource glob")]
    public bool CheckCapability() => _policy.CheckCapability(DbRead, "users_table").Allowed;

    [Benchmark(Description = "Hostile glob a*a*...a*b (100 stars) vs 4096 chars")]
    public bool HostileGlob() => _hostile.Matches(_hostileText);

    [Benchmark(Description = "Hostile glob *a?a?...b* (200-char piece) vs 4096 chars")]
    public bool HostileQuestionMarkGlob() => _hostileQuestionMarks.Matches(_hostileText);

    [Benchmark(Description = "Hostile glob *aaa...ab* (201-char piece) vs 4096 chars")]
    public bool HostileLongPieceGlob() => _hostileLongPiece.Matches(_hostileText);

    [Benchmark(Description = "Typical glob s3://bucket/reports/*")]
    public bool TypicalGlob() => _typical.Matches("s3://bucket/reports/2026/q1.pdf");

    [Benchmark(Description = "RateLimiter.TryAcquire")]
    public bool RateLimit() => _limiter.TryAcquire("bench", EmailSend, Now.AddTicks(++_tick), out _);
}
