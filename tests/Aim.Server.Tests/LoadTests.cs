using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace Aim.Server.Tests;

/// <summary>
/// A bounded loopback load test: signed verification requests against a real server, reporting throughput and
/// latency percentiles. It asserts correctness only (every request decided); speed figures are reported, not asserted
/// (see docs/server.md for the latest numbers). AIM_LOAD_REQUESTS overrides the count (default 20,000).
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Bounded_load_of_signed_verifications_reports_throughput_and_latency()
    {
        int total = int.TryParse(Environment.GetEnvironmentVariable("AIM_LOAD_REQUESTS"), out var n) && n > 0 ? n : 20_000;
        const int Concurrency = 16;
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        var agents = new List<AgentClient>();
        for (int i = 0; i < Concurrency; i++)
        {
            var agent = new AgentClient(server.Url, $"load-{i}");
            (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
            (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
            agents.Add(agent);
        }

        // Warm up the JIT and connection pools.
        await Task.WhenAll(agents.Select(a => a.VerifyAsync("db:read")));

        var latencies = new double[total];
        int next = -1;
        int approved = 0;
        var clock = Stopwatch.StartNew();
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
        clock.Stop();

        Array.Sort(latencies);
        double throughput = total / clock.Elapsed.TotalSeconds;
        string report = $"{total} signed verifications, {Concurrency} concurrent clients, SQLite: {throughput:0} verifications/s, " +
                        $"p50 {latencies[total / 2]:0.00} ms, p99 {latencies[(int)(total * 0.99)]:0.00} ms, max {latencies[^1]:0.00} ms";
        output.WriteLine(report);
        Console.WriteLine(report);
        Assert.Equal(total, approved);
        foreach (var agent in agents)
        {
            agent.Dispose();
        }
    }
}
