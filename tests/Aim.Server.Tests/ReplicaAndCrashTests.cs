using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Aim.Audit;

namespace Aim.Server.Tests;

/// <summary>Several server processes on one database form one log; a killed server loses nothing it acknowledged.</summary>
public sealed class ReplicaAndCrashTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    private static string NewAdminKey() => "aim_test_" + Guid.NewGuid().ToString("N");

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Two_server_processes_see_and_extend_one_log(string backend)
    {
        string data = TestDirectories.Create("aim-replicas").FullName;
        string adminKey = NewAdminKey();
        string? pg = backend == "postgres" ? Tests.Backends.NewPostgresDatabase() : null;
        await using var a = await ServerProcess.StartAsync(data, adminKey, pg);
        await using var b = await ServerProcess.StartAsync(data, adminKey, pg);
        using var adminA = new AdminClient(a.Url, adminKey);
        using var adminB = new AdminClient(b.Url, adminKey);
        using var viaA = new AgentClient(a.Url, "replicated");
        (await viaA.RegisterAsync(adminKey)).Expect(HttpStatusCode.Created);
        using var viaB = new AgentClient(b.Url, "replicated", viaA.Key);
        (await viaB.RegisterAsync(adminKey)).Expect(HttpStatusCode.OK); // B sees A's registration

        var headBefore = SignedTreeHead.FromJson((await adminA.GetAsync("api/v1/audit/tree-head")).Text);
        var appends = Enumerable.Range(0, 40).Select(i => ApiFlowTests.AppendAsync(i % 2 == 0 ? viaA : viaB, i));
        var results = await Task.WhenAll(appends);
        Assert.All(results, r => r.Expect(HttpStatusCode.Created));
        var indexes = results.Select(r => r.Json["index"]!.GetValue<long>()).Order().ToList();
        Assert.Equal(Enumerable.Range((int)headBefore.TreeSize, 40).Select(i => (long)i), indexes); // one sequence, no gaps or duplicates

        var headA = SignedTreeHead.FromJson((await adminA.GetAsync("api/v1/audit/tree-head")).Text);
        var headB = SignedTreeHead.FromJson((await adminB.GetAsync("api/v1/audit/tree-head")).Text);
        Assert.True(headA.VerifySignature() && headB.VerifySignature());
        Assert.Equal(headA.TreeSize, headB.TreeSize);
        Assert.Equal(headA.RootHash, headB.RootHash);

        // B proves that A's earlier head is a prefix of its current tree.
        var c = (await adminB.GetAsync($"api/v1/audit/proofs/consistency?old_size={headBefore.TreeSize}&new_size={headB.TreeSize}")).Expect(HttpStatusCode.OK).Json;
        var proof = new ConsistencyProof(headBefore.TreeSize, headB.TreeSize, c["path"]!.AsArray().Select(x => Base64Url.DecodeFromChars(x!.GetValue<string>())).ToList());
        Assert.True(ConsistencyProof.Verify(headBefore.RootHash, headB.RootHash, proof));
        Assert.True((await adminA.GetAsync("api/v1/audit/verify")).Json["valid"]!.GetValue<bool>());
        Assert.True((await adminB.GetAsync("api/v1/audit/verify")).Json["valid"]!.GetValue<bool>());

        // A nonce used on one replica is refused by the other.
        string nonce = "shared-" + Guid.NewGuid().ToString("N");
        (await adminA.PostAsync($"api/v1/agents/{viaA.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
        (await viaA.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "n", capability = "db:read" }, nonce: nonce)).Expect(HttpStatusCode.Created);
        Assert.Equal("nonce_replayed", (await viaB.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "n", capability = "db:read" }, nonce: nonce)).ErrorCode);

        // A suspension through B takes effect on A at once.
        (await adminB.PostAsync($"api/v1/agents/{viaA.Id}/suspend")).Expect(HttpStatusCode.OK);
        Assert.Equal("agent_suspended", (await viaA.VerifyAsync("db:read")).ErrorCode);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Killed_during_a_burst_the_server_keeps_every_acknowledged_append(string backend)
    {
        string data = TestDirectories.Create("aim-crash").FullName;
        string adminKey = NewAdminKey();
        string? pg = backend == "postgres" ? Tests.Backends.NewPostgresDatabase() : null;
        var server = await ServerProcess.StartAsync(data, adminKey, pg);
        int port = server.Port;
        using var agent = new AgentClient(server.Url, "burst");
        (await agent.RegisterAsync(adminKey)).Expect(HttpStatusCode.Created);

        var acknowledged = new ConcurrentDictionary<long, string>();
        int next = 0;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                int i = Interlocked.Increment(ref next);
                try
                {
                    var r = await ApiFlowTests.AppendAsync(agent, i);
                    if (r.Status == HttpStatusCode.Created)
                    {
                        acknowledged[r.Json["index"]!.GetValue<long>()] = $"a-{i}";
                    }
                }
                catch (HttpRequestException)
                {
                    return; // the server is gone
                }
            }
        })).ToList();

        while (acknowledged.Count < 150)
        {
            await Task.Delay(20);
        }

        server.Kill();
        stop.Cancel();
        await Task.WhenAll(writers);
        await server.DisposeAsync();
        Assert.True(acknowledged.Count >= 150);

        await using var restarted = await ServerProcess.StartAsync(data, adminKey, pg, port);
        using var admin = new AdminClient(restarted.Url, adminKey);
        var stored = new Dictionary<long, string>();
        long from = 0;
        while (true)
        {
            var page = (await admin.GetAsync($"api/v1/audit/entries?from={from}&limit=1000")).Expect(HttpStatusCode.OK).Json;
            foreach (var e in page["items"]!.AsArray())
            {
                stored[e!["index"]!.GetValue<long>()] = e["entry"]!["record"]!["action_id"]!.GetValue<string>();
            }

            if (page["next_from"] is not JsonValue n)
            {
                break;
            }

            from = n.GetValue<long>();
        }

        foreach (var (index, actionId) in acknowledged)
        {
            Assert.True(stored.TryGetValue(index, out var got), $"acknowledged entry {index} is missing");
            Assert.Equal(actionId, got);
        }

        Assert.Equal(Enumerable.Range(0, stored.Count).Select(i => (long)i), stored.Keys.Order());
        var verify = (await admin.GetAsync("api/v1/audit/verify")).Expect(HttpStatusCode.OK).Json;
        Assert.True(verify["valid"]!.GetValue<bool>(), verify.ToJsonString());
        var head = SignedTreeHead.FromJson((await admin.GetAsync("api/v1/audit/tree-head")).Text);
        Assert.True(head.VerifySignature());
        Assert.Equal(stored.Count, head.TreeSize);

        // The log continues after the crash.
        using var again = new AgentClient(restarted.Url, "burst", agent.Key);
        (await again.RegisterAsync(adminKey)).Expect(HttpStatusCode.OK);
        (await ApiFlowTests.AppendAsync(again, 999_999)).Expect(HttpStatusCode.Created);
    }
}
