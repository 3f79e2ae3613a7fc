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
/// After the warm-up the load keeps warming in rounds of 1,000 until a round JIT-compiles fewer than 20 methods three
/// rounds in a row (at most AIM_LOAD_SETTLE seconds, default 30): on 2 loaded cores tiered compilation takes many seconds,
/// and a run timed before it settles measures the JIT and tier-0 code, not the server (a first five-step run at load ~30
/// spent 14% of its samples in the JIT and ran the intent classifier's vector code at tier 0). AIM_LOAD_BACKEND=postgres
/// (with AIM_TEST_POSTGRES) runs against PostgreSQL and AIM_LOAD_REPLICAS=2 starts two servers on one database, the
/// clients spread over them.
/// Run: AIM_LOAD_REQUESTS=20000 dotnet test tests/Aim.Server.Tests -c Release --filter LoadTests --logger "console;verbosity=detailed"
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public Task Bounded_load_of_signed_verifications_reports_throughput_and_latency() => LoadAsync(allSteps: false);

    /// <summary>
    /// The same load with every step doing work: resource-bound grants, a required attribute, a time window, a rate limit and a
    /// budget (step 3's state in the database), a delegation token verified against a trusted root (step 4) and a high-risk
    /// action whose text the agent shares (step 5 classifies it inline).
    /// </summary>
    [Fact]
    public Task Bounded_load_with_all_five_steps_reports_throughput_and_latency() => LoadAsync(allSteps: true);

    private async Task LoadAsync(bool allSteps)
    {
        int total = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_REQUESTS"), out var n) && n > 0 ? n : 20_000;
        int concurrency = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_CLIENTS"), out var c) && c is > 0 and <= 256 ? c : 16;
        string backend = Environment.GetEnvironmentVariable("AIM_LOAD_BACKEND") is "postgres" ? "postgres" : "sqlite";
        int replicaCount = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_REPLICAS"), out var rc) && rc is > 1 and <= 4 ? rc : 1;
        if (backend == "postgres" && Backends.PostgresConnectionString is null)
        {
            Assert.Fail("AIM_LOAD_BACKEND=postgres needs AIM_TEST_POSTGRES (scripts/postgres.sh).");
        }

        string? database = backend == "postgres" ? Backends.NewPostgresDatabase() : null;
        string data = TestDirectories.Create("aim-load").FullName;
        var replicas = new List<ServerHarness>();
        for (int r = 0; r < replicaCount; r++)
        {
            replicas.Add(await ServerHarness.StartAsync(backend, postgres: database, dataDirectory: data));
        }

        await using var server = replicas[0];
        using var admin = server.Admin();
        using var root = Aim.Crypto.Ed25519KeyPair.Generate();
        string rootId = Aim.Tokens.Identity.AipIdentifier.ForKey(root.PublicKey);
        if (allSteps)
        {
            (await admin.PostAsync("api/v1/trusted-roots", new { identifier = rootId })).Expect(HttpStatusCode.Created);
        }

        var agents = new List<AgentClient>();
        var requests = new List<Func<Task<ApiResponse>>>();
        for (int i = 0; i < concurrency; i++)
        {
            var agent = new AgentClient(server.Url, $"load-{i}");
            (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);

            // With replicas, the agent's requests go to replica i % n (registered once, on the first).
            var sender = i % replicaCount == 0 ? agent : new AgentClient(replicas[i % replicaCount].Url, agent.Name, agent.Key);
            if (!ReferenceEquals(sender, agent))
            {
                agents.Add(sender);
            }

            if (!allSteps)
            {
                (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
                requests.Add(() => sender.VerifyAsync("db:read"));
            }
            else
            {
                (await PipelineTests.PutPolicyAsync(admin, agent, new
                {
                    grants = new[] { "db:read@users_*" },
                    attributes = new { environment = "prod" },
                    timeWindows = new[] { new { startHour = 0, endHour = 24 } },
                    rateLimits = new[] { new { capability = "db:*", limit = 100_000, per = "00:00:10" } }, // live on every call, never reached (8 agents at 5,000/s hold ~6,000 events each)
                    budget = new { limitUsd = 1_000_000m },
                })).Expect(HttpStatusCode.OK);
                var now = DateTimeOffset.UtcNow;
                string token = Aim.Tokens.Compact.CompactToken.Create(root, new Aim.Tokens.Compact.AipTokenClaims(rootId, agent.KeyId, ["db:*"], null, 0, now, now.AddMinutes(50)));
                var body = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["capability"] = "db:read",
                    ["resource"] = "users_eu",
                    ["risk"] = "high",
                    ["attributes"] = new Dictionary<string, string> { ["environment"] = "prod" },
                    ["delegation_token"] = token,
                    ["cost_usd"] = 0.001m,
                    ["method"] = "Shop.Support.LookupUser(string)",
                    ["intent"] = new { description = "Looks up a customer for a support ticket.", parameter_names = new[] { "userId" }, arguments = new[] { "42" } },
                });
                requests.Add(() => sender.SendAsync(HttpMethod.Post, "api/v1/verifications", body.Insert(1, $"\"action_id\":\"{Guid.NewGuid():N}\",")));
            }

            agents.Add(agent);
        }

        // Warm up (not timed): connection pools, and the JIT's tiered recompilation of the hot path, which otherwise runs on the
        // same 2 cores during the first seconds of the timed run. A long-running server is measured in its steady state.
        int warmup = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_WARMUP"), out var w) && w >= 0 ? w : 4_000;
        int settleSeconds = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_SETTLE"), out var ss) && ss >= 0 ? ss : 30;
        var warmClock = Stopwatch.StartNew();
        await RunAsync(requests, warmup, new double[warmup]);
        int warmed = warmup, quietRounds = 0;
        long lastRoundJit = 0;
        while (settleSeconds > 0 && quietRounds < 3 && warmClock.Elapsed.TotalSeconds < settleSeconds)
        {
            long roundStart = System.Runtime.JitInfo.GetCompiledMethodCount();
            await RunAsync(requests, 1_000, new double[1_000]);
            warmed += 1_000;
            lastRoundJit = System.Runtime.JitInfo.GetCompiledMethodCount() - roundStart;
            quietRounds = lastRoundJit < 20 ? quietRounds + 1 : 0;
        }

        bool settled = settleSeconds == 0 || quietRounds >= 3;
        await Task.Delay(500);

        var latencies = new double[total];
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        long jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var clock = Stopwatch.StartNew();
        int approved = await RunAsync(requests, total, latencies);
        clock.Stop();
        long jitDuring = System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore;
        process.Refresh();
        double cpuMsPerRequest = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / total;

        Array.Sort(latencies);
        double throughput = total / clock.Elapsed.TotalSeconds;
        string store = backend == "postgres" ? (replicaCount > 1 ? $"PostgreSQL, {replicaCount} replicas" : "PostgreSQL") : "SQLite";
        string report = $"{total} signed verifications{(allSteps ? " with all five steps" : string.Empty)} (after {warmed} warm-up{(settled ? ", JIT settled" : ", JIT NOT settled")}), {concurrency} concurrent clients, {store}, {Environment.ProcessorCount} cores: {throughput:0} verifications/s, " +
                        $"p50 {latencies[total / 2]:0.00} ms, p99 {latencies[(int)(total * 0.99)]:0.00} ms, max {latencies[^1]:0.00} ms, " +
                        $"process CPU {cpuMsPerRequest:0.000} ms per verification (client and server), methods JIT-compiled while timed {jitDuring}, load average {LoadAverage()}";
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.Equal(total, approved);

        // Nothing acknowledged is lost: every approved verification is stored (plus the warm-up rounds).
        await using (System.Data.Common.DbConnection db = database is null
            ? new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "aim.db")};Mode=ReadOnly;Pooling=False")
            : new Npgsql.NpgsqlConnection(database))
        {
            await db.OpenAsync();
            await using var count = db.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM verifications WHERE status = 'approved'";
            Assert.Equal(total + warmed, Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var agent in agents)
        {
            agent.Dispose();
        }

        for (int r = 1; r < replicas.Count; r++)
        {
            await replicas[r].DisposeAsync();
        }
    }

    /// <summary>Sends <paramref name="total"/> verifications, each agent one at a time; returns how many were approved.</summary>
    private static async Task<int> RunAsync(List<Func<Task<ApiResponse>>> agents, int total, double[] latencies)
    {
        int next = -1;
        int approved = 0;
        await Task.WhenAll(agents.Select(verify => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                long start = Stopwatch.GetTimestamp();
                var r = await verify();
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
