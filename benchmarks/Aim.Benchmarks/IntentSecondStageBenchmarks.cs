using Aim.Authorization;
using Aim.Capabilities;
using Aim.Identity;
using Aim.Intent;
using Aim.Intent.Check;
using Aim.Intent.Onnx;
using Aim.Intent.Training;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Aim.Benchmarks;

/// <summary>
/// Per-call latency of the intent step with the ONNX second stage: the second stage alone on a short, a typical and a long
/// input, the first stage alone on the same inputs, and the whole step 5 (<see cref="IntentClassifierCheck"/>, critical
/// risk, second stage enabled) on a realistic mix (every held-out line in turn, so the share that reaches the second stage
/// is the corpus's). One call per iteration (InvocationCount 1), so the P50 and P99 columns are per-call percentiles.
/// </summary>
[Config(typeof(PerCallConfig))]
public class IntentSecondStageBenchmarks
{
    private const string ShortText = "db:read get the user with id 42 and list their open orders";   // ~15 words
    private const string TypicalText = "payment:refund customer 7781 RefundAsync Refund an order orderId=55102 amount=23.90 reason=\"item arrived damaged, approved by team lead Sara in ticket CS-8812\" notify=true channel=email template=refund-confirmation locale=en-GB copy=finance@example.com priority=normal source=support-portal agent=refund-bot requestId=8f1c2a";
    private static readonly string LongText = string.Concat(Enumerable.Repeat("email:send body=\"Hi team, attached are the Q3 numbers and the meeting notes. \" ", 30));

    private static readonly AgentIdentity Agent = new(Guid.Parse("3f1c2a4e-0000-4000-8000-000000000002"), "bench-agent", new byte[32]);

    private OnnxIntentStage _stage = null!;
    private IntentClassifierCheck _check = null!;
    private ActionRequest[] _mix = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _stage = new OnnxIntentStage();
        _check = new IntentClassifierCheck(options: new IntentCheckOptions { SecondStage = _stage });
        _mix = IntentCorpus.HeldOutFiles(IntentBenchmarksData.Find()).SelectMany(IntentCorpus.ReadFile).Select(e => new ActionRequest
        {
            ActionId = "bench",
            Agent = Agent,
            Capability = Capability.Parse("tool:run"),
            Resource = e.Resource,
            Risk = RiskLevel.Critical,
            Method = e.Capability,
            ParameterNames = ["input"],
            Arguments = [e.Input],
            Time = DateTimeOffset.UnixEpoch,
        }).ToArray();
        foreach (var text in new[] { ShortText, TypicalText, LongText })
        {
            _stage.Score(text, 0.5f, CancellationToken.None);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _stage.Dispose();

    [Benchmark(Description = "Second stage, short (~15 words)")]
    public float SecondShort() => _stage.Score(ShortText, 0.5f, CancellationToken.None);

    [Benchmark(Description = "Second stage, typical (~60 words)")]
    public float SecondTypical() => _stage.Score(TypicalText, 0.5f, CancellationToken.None);

    [Benchmark(Description = "Second stage, long (256 tokens, cut)")]
    public float SecondLong() => _stage.Score(LongText, 0.5f, CancellationToken.None);

    [Benchmark(Description = "First stage, typical (same input)")]
    public IntentPrediction FirstTypical() => IntentClassifier.Default.Predict(TypicalText);

    [Benchmark(Description = "Step 5 end to end, critical, held-out mix (cascade)")]
    public StepResult StepMix()
    {
        var request = _mix[_next++ % _mix.Length];
        return _check.CheckAsync(request, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    private sealed class PerCallConfig : ManualConfig
    {
        public PerCallConfig()
        {
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(300).WithInvocationCount(1).WithUnrollFactor(1)
                .WithStrategy(RunStrategy.Monitoring).WithToolchain(InProcessEmitToolchain.Instance));
            AddColumn(StatisticColumn.P50, StatisticColumn.P95, new PercentileColumn(99));
        }
    }

    private sealed class PercentileColumn(int percentile) : IColumn
    {
        public string Id => "P" + percentile;

        public string ColumnName => "P" + percentile;

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Statistics;

        public int PriorityInCategory => percentile;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Time;

        public string Legend => $"{percentile}th percentile of the per-call time";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
            summary[benchmarkCase]?.ResultStatistics is { } stats
                ? (stats.Percentiles.Percentile(percentile) / 1000.0).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) + " us"
                : "NA";

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}

/// <summary>Finds data/intent above the benchmark binaries.</summary>
internal static class IntentBenchmarksData
{
    public static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "data", "intent")))
        {
            dir = dir.Parent;
        }

        return dir is null ? throw new DirectoryNotFoundException("data/intent not found above the benchmark binaries.") : Path.Combine(dir.FullName, "data", "intent");
    }
}
