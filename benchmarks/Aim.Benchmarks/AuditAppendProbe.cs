using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;

namespace Aim.Benchmarks;

/// <summary>
/// <c>--audit-threads [entries]</c>: where the time of durable appends goes, which BenchmarkDotNet's per-entry mean cannot
/// say. Appends the same bursts of 4,096 awaited records as <c>AuditBenchmarks.DurableAppends</c> (after a warm-up) and
/// reads each thread's CPU time from /proc (Linux): the sealer (Ed25519 signatures, spread over the thread pool), the
/// committer (leaf and Merkle hashes, the SQLite transaction with synchronous=FULL) and the thread-pool workers. The
/// pipeline's rate is bounded by its busiest stage: a stage whose CPU per entry is close to the wall time per entry is
/// the bound.
/// </summary>
internal static class AuditAppendProbe
{
    private const int Burst = 4096;

    public static bool TryRun(string[] args)
    {
        if (args.Length < 1 || args[0] != "--audit-threads")
        {
            return false;
        }

        int entries = args.Length >= 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
        Console.WriteLine(Run(Math.Max(Burst, entries / Burst * Burst)).ToJsonString());
        return true;
    }

    private static JsonObject Run(int entries)
    {
        string dir = Directory.CreateTempSubdirectory("aim-audit-probe-").FullName;
        using var logKey = Ed25519KeyPair.Generate();
        using var agentKey = Ed25519KeyPair.Generate();
        var records = Enumerable.Range(0, Burst).Select(AuditBenchmarks.Record).ToArray(); // the benchmark's records
        try
        {
            using var log = AuditLog.Open(Path.Combine(dir, "append.db"), logKey);
            for (int i = 0; i < 10; i++)
            {
                AppendBurst(log, records, agentKey); // warm-up: JIT, SQLite page cache
            }

            var before = Shared.ProcStat.ThreadCpuByName();
            var clock = Stopwatch.StartNew();
            for (int done = 0; done < entries; done += Burst)
            {
                AppendBurst(log, records, agentKey);
            }

            clock.Stop();
            double wallUs = clock.Elapsed.TotalMicroseconds / entries;
            var perThread = new JsonObject();
            foreach (var (name, us) in Shared.ProcStat.ThreadCpuSince(before, entries))
            {
                perThread[name] = Math.Round(us, 2);
            }

            return new JsonObject
            {
                ["entries"] = entries,
                ["appends_per_s"] = Math.Round(entries / clock.Elapsed.TotalSeconds),
                ["wall_us_per_entry"] = Math.Round(wallUs, 2),
                ["cpu_us_per_entry_by_thread"] = perThread,
                ["load_average"] = Shared.ProcStat.LoadAverage(),
            };
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void AppendBurst(AuditLog log, AuditRecord[] records, Ed25519KeyPair agentKey)
    {
        var tasks = new Task<long>[records.Length];
        for (int i = 0; i < tasks.Length; i++)
        {
            tasks[i] = log.AppendAsync(records[i], agentKey).AsTask();
        }

        Task.WaitAll(tasks);
    }
}
