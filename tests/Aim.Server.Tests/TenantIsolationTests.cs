using System.Buffers.Text;
using System.Net;
using Aim.Crypto;

namespace Aim.Server.Tests;

/// <summary>For every endpoint, organization A's credentials against organization B's resources get 404/403 and change nothing.</summary>
public sealed class TenantIsolationTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Org_A_cannot_see_or_change_anything_of_org_B(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var root = server.Admin();
        using var adminA = await root.CreateOrgAsync("org-a");
        using var adminB = await root.CreateOrgAsync("org-b");

        // Org B's resources.
        using var agentB = new AgentClient(server.Url, "b-agent");
        (await agentB.RegisterAsync(adminB.ApiKey)).Expect(HttpStatusCode.Created);
        (await adminB.PostAsync($"api/v1/agents/{agentB.Id}/grants", new { capabilities = new[] { "payment:*" } })).Expect(HttpStatusCode.OK);
        string verificationB = (await agentB.VerifyAsync("payment:refund", jit: true)).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
        string requestB = (await agentB.SendAsync(HttpMethod.Post, "api/v1/capability-requests", new { capability = "db:read" })).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
        using var auditorB = await adminB.CreateKeyAsync("b-auditor", "auditor");
        string keyB = (await adminB.GetAsync("api/v1/api-keys")).Json["items"]!.AsArray().Single(k => k!["name"]!.GetValue<string>() == "b-auditor")!["id"]!.GetValue<string>();
        using var mcpKey = Ed25519KeyPair.Generate();
        var mcpB = (await adminB.PostAsync("api/v1/mcp-servers", new { name = "b-mcp", url = "https://b.example", public_key = Base64Url.EncodeToString(mcpKey.PublicKey) })).Expect(HttpStatusCode.Created).Json;
        string mcpIdB = mcpB["id"]!.GetValue<string>();
        var challengeB = Base64Url.DecodeFromChars(mcpB["challenge"]!.GetValue<string>());
        (await ApiFlowTests.AppendAsync(agentB, 1)).Expect(HttpStatusCode.Created);
        long bLogSize = Aim.Audit.SignedTreeHead.FromJson((await adminB.GetAsync("api/v1/audit/tree-head")).Text).TreeSize;

        // Org A's agent.
        using var agentA = new AgentClient(server.Url, "a-agent");
        (await agentA.RegisterAsync(adminA.ApiKey)).Expect(HttpStatusCode.Created);

        var attempts = new List<(string What, Func<Task<ApiResponse>> Call)>
        {
            ("get agent by id", () => adminA.GetAsync($"api/v1/agents/{agentB.Id}")),
            ("get agent by name", () => adminA.GetAsync("api/v1/agents/b-agent")),
            ("update agent", () => adminA.PatchAsync($"api/v1/agents/{agentB.Id}", new { description = "pwned" })),
            ("suspend agent", () => adminA.PostAsync($"api/v1/agents/{agentB.Id}/suspend")),
            ("reactivate agent", () => adminA.PostAsync($"api/v1/agents/{agentB.Id}/reactivate")),
            ("revoke agent", () => adminA.PostAsync($"api/v1/agents/{agentB.Id}/revoke")),
            ("list grants", () => adminA.GetAsync($"api/v1/agents/{agentB.Id}/grants")),
            ("add grant", () => adminA.PostAsync($"api/v1/agents/{agentB.Id}/grants", new { capabilities = new[] { "*:*" } })),
            ("remove grant", () => adminA.DeleteAsync($"api/v1/agents/{agentB.Id}/grants?capability=payment:*")),
            ("trust", () => adminA.GetAsync($"api/v1/agents/{agentB.Id}/trust")),
            ("trust history", () => adminA.GetAsync($"api/v1/agents/{agentB.Id}/trust/history")),
            ("feedback", () => adminA.PostAsync($"api/v1/agents/{agentB.Id}/feedback", new { rating = 1 })),
            ("get approval", () => adminA.GetAsync($"api/v1/approvals/{verificationB}")),
            ("approve", () => adminA.PostAsync($"api/v1/approvals/{verificationB}/approve", new { reason = "x" })),
            ("deny", () => adminA.PostAsync($"api/v1/approvals/{verificationB}/deny", new { reason = "x" })),
            ("approve capability request", () => adminA.PostAsync($"api/v1/capability-requests/{requestB}/approve", new { })),
            ("reject capability request", () => adminA.PostAsync($"api/v1/capability-requests/{requestB}/reject", new { })),
            ("revoke api key", () => adminA.PostAsync($"api/v1/api-keys/{keyB}/revoke")),
            ("attest mcp server", () => adminA.PostAsync($"api/v1/mcp-servers/{mcpIdB}/attest", new { signature = Base64Url.EncodeToString(mcpKey.Sign(challengeB)) })),
            ("audit by agent", () => adminA.GetAsync($"api/v1/audit/entries?agent={agentB.Id}")),
            ("agent reads verification", () => agentA.SendAsync(HttpMethod.Get, $"api/v1/verifications/{verificationB}", null)),
            ("agent streams verification", () => agentA.SendAsync(HttpMethod.Get, $"api/v1/verifications/{verificationB}/events?wait=0", null)),
            ("agent reports result", () => agentA.SendAsync(HttpMethod.Post, $"api/v1/verifications/{verificationB}/result", new { outcome = "success" })),
            ("agent rotates other key", () => agentA.SendAsync(HttpMethod.Post, $"api/v1/agents/{agentB.Id}/keys/rotate", new { new_aip_id = agentA.KeyId, proof = "AAAA" })),
            ("register B's key in A", () => new AgentClient(server.Url, "stolen", agentB.Key).RegisterAsync(adminA.ApiKey)),
        };
        foreach (var (what, call) in attempts)
        {
            var r = await call();
            Assert.True(r.Status is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.Conflict, $"{what}: {(int)r.Status} {r.Text}");
            Assert.DoesNotContain("b-agent", r.Text, StringComparison.Ordinal);
        }

        // Listings show only org A's rows.
        Assert.DoesNotContain("b-agent", (await adminA.GetAsync("api/v1/agents")).Expect(HttpStatusCode.OK).Text, StringComparison.Ordinal);
        Assert.Empty((await adminA.GetAsync("api/v1/approvals?status=all")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray());
        Assert.Empty((await adminA.GetAsync("api/v1/capability-requests")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray());
        Assert.Empty((await adminA.GetAsync("api/v1/mcp-servers")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray());
        Assert.DoesNotContain("b-auditor", (await adminA.GetAsync("api/v1/api-keys")).Text, StringComparison.Ordinal);
        var entriesA = (await adminA.GetAsync("api/v1/audit/entries")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.All(entriesA, e => Assert.DoesNotContain(agentB.Id!, e!.ToJsonString(), StringComparison.Ordinal));
        Assert.Equal("proof_out_of_range", (await adminA.GetAsync($"api/v1/audit/proofs/inclusion?index={bLogSize - 1}&tree_size={bLogSize}")).ErrorCode);

        // Nothing of org B changed.
        var agentView = (await adminB.GetAsync($"api/v1/agents/{agentB.Id}")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("active", agentView["status"]!.GetValue<string>());
        Assert.Null(agentView["description"]);
        Assert.Equal(["payment:*"], agentView["grants"]!.AsArray().Select(g => g!.GetValue<string>()));
        Assert.Equal("pending", (await adminB.GetAsync($"api/v1/approvals/{verificationB}")).Json["status"]!.GetValue<string>());
        Assert.Equal("pending", (await adminB.GetAsync("api/v1/capability-requests")).Json["items"]![0]!["status"]!.GetValue<string>());
        (await auditorB.GetAsync("api/v1/audit/entries")).Expect(HttpStatusCode.OK);
        Assert.False((await adminB.GetAsync("api/v1/mcp-servers")).Json["items"]![0]!["attested"]!.GetValue<bool>());
        Assert.Empty((await adminB.GetAsync($"api/v1/agents/{agentB.Id}/trust/history")).Json["items"]!.AsArray());
        Assert.Equal(bLogSize, Aim.Audit.SignedTreeHead.FromJson((await adminB.GetAsync("api/v1/audit/tree-head")).Text).TreeSize);
        Assert.True((await adminB.GetAsync("api/v1/audit/verify")).Json["valid"]!.GetValue<bool>());
    }
}
