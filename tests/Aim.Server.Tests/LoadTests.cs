using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace Aim.Server.Tests;

/// <summary>
/// A bounded loopback load test: signed verification requests against a real server, reporting throughput and
/// latency percentiles. It asserts correctness only (every request decided and stored); speed figures are reported, not
/// asserted (see docs/server.md for the latest numbers). AIM_LOAD_REQUESTS overrides the count (default 20,000),
/// AIM_LOAD_CLIENTS the number of concurrent agents (default 16: a fleet of agents each with one request in flight, the
/// upper end of what one server process on 2 cores is sized for), AIM_LOAD_WARMUP the untimed warm-up (default 4,000,
/// so the JIT's tiered recompilation is done before timing starts). The clients (Ed25519 signing, HttpClient) share the
/// machine's cores with the server, as the issue's target asks. The process CPU time per verification is reported too:
/// it is what the machine spends per request (client and server); it moves less than wall-clock figures when
/// other work shares the machine (but still moves: caches and hyperthreads are shared too).
/// Run: AIM_LOAD_REQUESTS=20000 dotnet test tests/Aim.Server.Tests -c Release --filter LoadTests --logger "console;verbosity=detailed"
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Bounded_load_of_signed_verifications_reports_throughput_and_latency()
    {
        int total = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_REQUESTS"), out var n) && n > 0 ? n : 20_000;
        int concurrency = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_CLIENTS"), out var c) && c is > 0 and <= 256 ? c : 16;
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        var agents = new List<AgentClient>();
        for (int i = 0; i < concurrency; i++)
        {
            var agent = new AgentClient(server.Url, $"load-{i}");
            (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
            (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
            agents.Add(agent);
        }

        // Warm up (not timed): connection pools, and the JIT's tiered recompilation of the hot path, which otherwise runs on the
        // same 2 cores during the first seconds of the timed run. A long-running server is measured in its steady state.
        int warmup = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_WARMUP"), out var w) && w >= 0 ? w : 4_000;
        await RunAsync(agents, warmup, new double[warmup]);
        await Task.Delay(500);

        var latencies = new double[total];
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        int approved = await RunAsync(agents, total, latencies);
        clock.Stop();
        process.Refresh();
        double cpuMsPerRequest = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / total;

        Array.Sort(latencies);
        double throughput = total / clock.Elapsed.TotalSeconds;
        string report = $"{total} signed verifications (after {warmup} warm-up), {concurrency} concurrent clients, SQLite, {Environment.ProcessorCount} cores: {throughput:0} verifications/s, " +
                        $"p50 {latencies[total / 2]:0.00} ms, p99 {latencies[(int)(total * 0.99)]:0.00} ms, max {latencies[^1]:0.00} ms, " +
                        $"process CPU {cpuMsPerRequest:0.000} ms per verification (client and server), load average {LoadAverage()}";
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.Equal(total, approved);

        // Nothing acknowledged is lost: every approved verification is stored (plus the warm-up round).
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "aim.db")};Mode=ReadOnly;Pooling=False"))
        {
            await db.OpenAsync();
            await using var count = db.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM verifications WHERE status = 'approved'";
            Assert.Equal(total + warmup, Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var agent in agents)
        {
            agent.Dispose();
        }
    }

    /// <summary>Sends <paramref name="total"/> verifications, each agent one at a time; returns how many were approved.</summary>
    private static async Task<int> RunAsync(List<AgentClient> agents, int total, double[] latencies)
    {
        int next = -1;
        int approved = 0;
        await Task.WhenAll(agents.Select(agent => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                long start = Stopwatch.GetTimestamp();
                var r = await agent.VerifyAsync("db:read");
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (r.Status == HttpStatusCode.Created && r.Json["status"]!.GetValue<string>() == "approved")
                {
                    Interlocked.Increment(ref approved);
                }
            }
        })));
        return approved;
    }

    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
