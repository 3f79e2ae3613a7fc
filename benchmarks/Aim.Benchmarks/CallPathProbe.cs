using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Engine;

namespace Aim.Benchmarks;

/// <summary>
/// <c>--call-path [seconds]</c>: the embedded call path measured per call, which BenchmarkDotNet cannot do: each
/// <c>AimRuntime.Invoke</c> (allowed low-risk action, two signed audit records queued) is timed on its own and its
/// allocations are read on the calling thread (<see cref="GC.GetAllocatedBytesForCurrentThread"/>; BenchmarkDotNet's
/// MemoryDiagnoser counts the whole process, so it includes the audit writer's signing and SQLite work).
/// Two regimes, one JSON object:
/// <list type="bullet">
/// <item><c>paced</c>: one call every 200 us (5,000 secured actions/s, below what the writer sustains on two cores), the
/// caller's cost when the log's writer keeps up: what an agent pays per action.</item>
/// <item><c>back_to_back</c>: calls in a tight loop; the writer's two Ed25519 signatures per action compete with the caller
/// for the same two cores, so this is bounded by the machine, not the call path.</item>
/// </list>
/// Then the log is flushed and <c>sustained_per_s</c> is the rate of actions whose records are durably committed.
/// </summary>
internal static class CallPathProbe
{
    private static readonly ActionDescriptor Read = new("db:read", resource: "users_table", method: "Bench.GetUsers(string)", parameterNames: ["tenant"]);
    private static readonly object?[] Args = ["acme"];
    private static int counter;

    public static bool TryRun(string[] args)
    {
        if (args.Length < 1 || args[0] != "--call-path")
        {
            return false;
        }

        double seconds = args.Length >= 2 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 2.0;
        Console.WriteLine(Run(seconds).ToJsonString());
        return true;
    }

    private static JsonObject Run(double seconds)
    {
        string home = Path.Combine(Path.GetTempPath(), "aim-callpath-" + Guid.NewGuid().ToString("N"));
        var engine = EmbeddedEngine.Create(new AimOptions { AgentName = "probe-agent", Home = home }.Grant("db:read@users_*"));
        var runtime = new AimRuntime(engine);
        try
        {
            // Warm up until tiered JIT settles (three rounds in a row compile nothing new, at most 15 s): tier-0 code
            // allocates what optimized code keeps on the stack, so an unsettled process reports more bytes per call.
            var warm = Stopwatch.StartNew();
            int quietRounds = 0;
            while (quietRounds < 3 && warm.Elapsed.TotalSeconds < 15)
            {
                long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
                Measure(runtime, 0.25, TimeSpan.FromMicroseconds(200));
                Measure(runtime, 0.25, TimeSpan.Zero);
                engine.AuditLog.FlushAsync().GetAwaiter().GetResult();
                quietRounds = System.Runtime.JitInfo.GetCompiledMethodCount() == compiled ? quietRounds + 1 : 0;
            }

            engine.AuditLog.FlushAsync().GetAwaiter().GetResult();
            var paced = Measure(runtime, seconds, TimeSpan.FromMicroseconds(200));
            engine.AuditLog.FlushAsync().GetAwaiter().GetResult();

            long before = engine.AuditLog.Count;
            var clock = Stopwatch.StartNew();
            var backToBack = Measure(runtime, seconds, TimeSpan.Zero);
            engine.AuditLog.FlushAsync().GetAwaiter().GetResult();
            double drained = clock.Elapsed.TotalSeconds;
            long entries = engine.AuditLog.Count - before;

            return new JsonObject
            {
                ["runtime"] = $".NET {Environment.Version}",
                ["paced"] = paced,
                ["back_to_back"] = backToBack,
                ["sustained_per_s"] = Math.Round(entries / 2 / drained),
                ["warmup_s"] = Math.Round(warm.Elapsed.TotalSeconds, 1),
                ["jit_settled"] = quietRounds >= 3,
            };
        }
        finally
        {
            runtime.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Directory.Delete(home, recursive: true);
        }
    }

    private static JsonObject Measure(AimRuntime runtime, double seconds, TimeSpan gap)
    {
        var times = new List<double>(1 << 16);
        long allocated = 0;
        var clock = Stopwatch.StartNew();
        long next = Stopwatch.GetTimestamp();
        long gapTicks = (long)(gap.TotalSeconds * Stopwatch.Frequency);
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            if (gapTicks > 0)
            {
                next += gapTicks;
                while (Stopwatch.GetTimestamp() < next)
                {
                    Thread.SpinWait(20);
                }
            }

            long bytes = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            runtime.Invoke(Read, Args, Body);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            allocated += GC.GetAllocatedBytesForCurrentThread() - bytes;
        }

        times.Sort();
        return new JsonObject
        {
            ["calls"] = times.Count,
            ["median_us"] = Math.Round(times[times.Count / 2], 3),
            ["p90_us"] = Math.Round(times[(int)(times.Count * 0.90)], 3),
            ["p99_us"] = Math.Round(times[(int)(times.Count * 0.99)], 3),
            ["mean_us"] = Math.Round(times.Average(), 3),
            ["caller_bytes_per_call"] = allocated / times.Count,
        };
    }

    private static int Body() => Interlocked.Increment(ref counter);
}
