using System.Buffers.Text;
using System.Net;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;

namespace Aim.Server.Tests;

/// <summary>
/// Every state-changing API route appends exactly one audit entry, the one named here. The table is checked against
/// the server's own route list (<c>/openapi/v1.json</c>, derived from the endpoint table): a new POST, PUT, PATCH or
/// DELETE route that is not in the table fails this test until it says which entry it appends.
/// </summary>
public sealed class AuditedRoutesTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    /// <summary>What a route call needs: the actors and the ids earlier calls created.</summary>
    private sealed class Context : IDisposable
    {
        public required ServerHarness Server { get; init; }
        public required AdminClient Admin { get; init; }
        public required AgentClient Agent { get; init; }
        public Dictionary<string, string> Ids { get; } = new(StringComparer.Ordinal);
        public Ed25519KeyPair Mcp { get; } = Ed25519KeyPair.Generate();
        public Compat.AimSdkClient? Aim { get; set; }

        public void Dispose()
        {
            Aim?.Dispose();
            Mcp.Dispose();
            Agent.Dispose();
            Admin.Dispose();
        }
    }

    private sealed record Route(string Method, string Path, string? Event, Func<Context, Task<ApiResponse>> Call, string? Exemption = null, Func<Context, Task>? Setup = null);

    // In call order: later calls use what earlier ones created. Event: the "aim:" capability of the entry the call appends
    // (null with an exemption: the route appends no entry, and why).
    private static readonly Route[] Table =
    [
        new("POST", "/api/v1/orgs", "org.created", c => c.Admin.PostAsync("api/v1/orgs", new { name = "second-org" })),
        new("POST", "/api/v1/api-keys", "api_key.created", async c =>
        {
            var r = await c.Admin.PostAsync("api/v1/api-keys", new { name = "temporary", role = "auditor" });
            c.Ids["key"] = r.Json["id"]!.GetValue<string>();
            return r;
        }),
        new("POST", "/api/v1/api-keys/{id}/revoke", "api_key.revoked", c => c.Admin.PostAsync($"api/v1/api-keys/{c.Ids["key"]}/revoke")),
        new("POST", "/api/v1/agents", "agent.registered", c => c.Agent.RegisterAsync(c.Admin.ApiKey)),
        new("PATCH", "/api/v1/agents/{agent}", "agent.updated", c => c.Admin.PatchAsync($"api/v1/agents/{c.Agent.Id}", new { description = "reads tables" })),
        new("POST", "/api/v1/agents/{agent}/grants", "agent.granted", c => c.Admin.PostAsync($"api/v1/agents/{c.Agent.Id}/grants", new { capabilities = new[] { "db:read", "payment:*" } })),
        new("DELETE", "/api/v1/agents/{agent}/grants", "agent.grant_revoked", c => c.Admin.DeleteAsync($"api/v1/agents/{c.Agent.Id}/grants?capability=db:read")),
        new("PUT", "/api/v1/agents/{agent}/policy", "agent.policy_changed", c => c.Admin.SendAsync(HttpMethod.Put, $"api/v1/agents/{c.Agent.Id}/policy", new { budget = new { limitUsd = 5 } })),
        new("POST", "/api/v1/trusted-roots", "trusted_root.added", async c =>
        {
            using var root = Ed25519KeyPair.Generate();
            c.Ids["root"] = Aim.Identity.AgentIdentity.AipIdOf(root.PublicKey);
            return await c.Admin.PostAsync("api/v1/trusted-roots", new { identifier = c.Ids["root"], label = "orchestrator" });
        }),
        new("DELETE", "/api/v1/trusted-roots/{id}", "trusted_root.removed", c => c.Admin.DeleteAsync($"api/v1/trusted-roots/{Uri.EscapeDataString(c.Ids["root"])}")),
        new("POST", "/api/v1/capability-requests", "capability_request.created", async c =>
        {
            var r = await c.Agent.SendAsync(HttpMethod.Post, "api/v1/capability-requests", new { capability = "db:write", reason = "migrations" });
            c.Ids["request"] = r.Json["id"]!.GetValue<string>();
            return r;
        }),
        new("POST", "/api/v1/capability-requests/{id}/approve", "capability_request.approved", c => c.Admin.PostAsync($"api/v1/capability-requests/{c.Ids["request"]}/approve", new { })),
        new("POST", "/api/v1/capability-requests/{id}/reject", "capability_request.rejected", c => c.Admin.PostAsync($"api/v1/capability-requests/{c.Ids["request2"]}/reject", new { reason = "no" }),
            Setup: async c => c.Ids["request2"] = (await c.Agent.SendAsync(HttpMethod.Post, "api/v1/capability-requests", new { capability = "email:send" })).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>()),
        new("POST", "/api/v1/verifications", null, async c =>
        {
            var pending = await c.Agent.VerifyAsync("payment:refund", jit: true);
            c.Ids["pending"] = pending.Json["id"]!.GetValue<string>();
            c.Ids["pending2"] = (await c.Agent.VerifyAsync("payment:refund", jit: true)).Json["id"]!.GetValue<string>();
            return pending;
        }, Exemption: "a verification is a row of the verifications table (owned by the decision-path rewrite); the agent's own signed record of the action is the audit entry"),
        new("POST", "/api/v1/approvals/{id}/approve", "approval.approved", c => c.Admin.PostAsync($"api/v1/approvals/{c.Ids["pending"]}/approve", new { reason = "ok" })),
        new("POST", "/api/v1/approvals/{id}/deny", "approval.denied", c => c.Admin.PostAsync($"api/v1/approvals/{c.Ids["pending2"]}/deny", new { reason = "no" })),
        new("POST", "/api/v1/verifications/{id}/result", "verification.result", c => c.Agent.SendAsync(HttpMethod.Post, $"api/v1/verifications/{c.Ids["pending"]}/result", new { outcome = "success" })),
        new("POST", "/api/v1/audit/records", "db:read", c => HardeningTests.SignedAppendAsync(c.Agent, HardeningTests.Record(c.Agent))),
        new("POST", "/api/v1/agents/{agent}/feedback", "agent.feedback", c => c.Admin.PostAsync($"api/v1/agents/{c.Agent.Id}/feedback", new { rating = 4 })),
        // AIM wire compatibility (Compat/): the switch, then an agent speaking AIM's protocol.
        new("PUT", "/api/v1/orgs/{org}/compat", "org.compat_changed", c => c.Admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })),
        new("POST", "/api/v1/public/agents/register", "agent.registered", async c =>
        {
            var (client, r) = await Compat.AimSdkClient.RegisterAsync(c.Server.Url, c.Admin.ApiKey, "aim-audited");
            c.Aim = client;
            return r;
        }),
        new("POST", "/api/v1/sdk-api/verifications", null, async c =>
        {
            var r = await c.Aim!.VerifyAsync("refund_payment", context: new JsonObject { ["jit_access"] = true });
            c.Ids["aim-pending"] = r.Json["id"]!.GetValue<string>();
            return r;
        }, Exemption: "as POST /api/v1/verifications (the same pipeline and table): a verification is a row of the verifications table, not an audit entry",
            Setup: async c => (await c.Admin.PostAsync($"api/v1/agents/{c.Aim!.AgentId.Replace("-", string.Empty, StringComparison.Ordinal)}/grants", new { capabilities = new[] { "payment:refund" } })).Expect(HttpStatusCode.OK)),
        new("POST", "/api/v1/sdk-api/verifications/{id}/result", "verification.result", c => c.Aim!.ResultAsync(c.Ids["aim-pending"], true, "refunded"),
            Setup: async c => (await c.Admin.PostAsync($"api/v1/approvals/{c.Ids["aim-pending"].Replace("-", string.Empty, StringComparison.Ordinal)}/approve", new { })).Expect(HttpStatusCode.OK)),
        new("POST", "/api/v1/sdk-api/agents/{agent}/capability-requests", "capability_request.created", c =>
            c.Aim!.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{c.Aim.AgentId}/capability-requests", "{\"capability_type\": \"write_database\", \"reason\": \"nightly sync of records\"}")),
        new("POST", "/api/v1/sdk-api/agents/{agent}/capabilities", "capability_request.created", c =>
            c.Aim!.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{c.Aim.AgentId}/capabilities", "{\"capabilityType\": \"send_email\"}")),
        new("POST", "/api/v1/sdk-api/agents/{agent}/mcp-servers", "agent.mcp_reported", c =>
            c.Aim!.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{c.Aim.AgentId}/mcp-servers", "{\"mcp_server_ids\": [\"filesystem\"]}")),
        new("POST", "/api/v1/sdk-api/agents/{agent}/detection/report", "agent.mcp_reported", c =>
            c.Aim!.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{c.Aim.AgentId}/detection/report", "{\"detections\": [{\"mcpServer\": \"github\"}]}")),
        new("POST", "/api/v1/detection/agents/{agent}/report", "agent.mcp_reported", c =>
            c.Aim!.SendAsync(HttpMethod.Post, $"/api/v1/detection/agents/{c.Aim.AgentId}/report", "{\"detections\": [{\"mcpServer\": \"slack\"}]}")),
        new("POST", "/api/v1/mcp-servers", "mcp_server.registered", async c =>
        {
            var r = await c.Admin.PostAsync("api/v1/mcp-servers", new { name = "tools", url = "https://tools.example", public_key = Base64Url.EncodeToString(c.Mcp.PublicKey) });
            c.Ids["mcp"] = r.Json["id"]!.GetValue<string>();
            c.Ids["challenge"] = r.Json["challenge"]!.GetValue<string>();
            return r;
        }),
        new("POST", "/api/v1/mcp-servers/{id}/attest", "mcp_server.attested", c =>
            c.Admin.PostAsync($"api/v1/mcp-servers/{c.Ids["mcp"]}/attest", new { signature = Base64Url.EncodeToString(c.Mcp.Sign(Base64Url.DecodeFromChars(c.Ids["challenge"]))) })),
        new("POST", "/api/v1/agents/{agent}/keys/rotate", "agent.key_rotated", async c =>
        {
            using var next = Ed25519KeyPair.Generate();
            string nextId = Aim.Identity.AgentIdentity.AipIdOf(next.PublicKey);
            var proof = next.Sign(Server.Endpoints.AgentEndpoints.RotationProofMessage(c.Agent.Id!, nextId));
            return await c.Agent.SendAsync(HttpMethod.Post, $"api/v1/agents/{c.Agent.Id}/keys/rotate", new { new_aip_id = nextId, proof = Base64Url.EncodeToString(proof) });
        }),
        new("POST", "/api/v1/agents/{agent}/suspend", "agent.suspend", c => c.Admin.PostAsync($"api/v1/agents/{c.Agent.Id}/suspend")),
        new("POST", "/api/v1/agents/{agent}/reactivate", "agent.reactivate", c => c.Admin.PostAsync($"api/v1/agents/{c.Agent.Id}/reactivate")),
        new("POST", "/api/v1/agents/{agent}/revoke", "agent.revoke", c => c.Admin.PostAsync($"api/v1/agents/{c.Agent.Id}/revoke")),
    ];

    [Fact]
    public async Task The_table_lists_every_state_changing_api_route()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        var paths = (await admin.GetAsync("openapi/v1.json")).Expect(HttpStatusCode.OK).Json["paths"]!.AsObject();
        var routes = paths.Where(p => p.Key.StartsWith("/api/v1/", StringComparison.Ordinal))
            .SelectMany(p => p.Value!.AsObject().Select(m => m.Key.ToUpperInvariant()).Where(m => m is "POST" or "PUT" or "PATCH" or "DELETE").Select(m => $"{m} {p.Key}"))
            .Order(StringComparer.Ordinal).ToList();
        var table = Table.Select(r => $"{r.Method} {r.Path}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(routes, table);
        Assert.All(Table, r => Assert.True((r.Event is null) == (r.Exemption is not null), $"{r.Method} {r.Path}: an event or an exemption with its reason"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Every_state_changing_route_appends_exactly_one_entry(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var context = new Context { Server = server, Admin = server.Admin(), Agent = new AgentClient(server.Url, "audited") };
        long size = await SizeAsync(context.Admin);
        foreach (var route in Table)
        {
            if (route.Setup is not null)
            {
                await route.Setup(context);
                size = await SizeAsync(context.Admin);
            }

            var r = await route.Call(context);
            Assert.True((int)r.Status is >= 200 and < 300, $"{route.Method} {route.Path}: {(int)r.Status} {r.Text}");
            long after = await SizeAsync(context.Admin);
            if (route.Event is null)
            {
                Assert.True(after == size, $"{route.Method} {route.Path} is exempt ({route.Exemption}) but appended {after - size} entries");
                continue;
            }

            Assert.True(after == size + 1, $"{route.Method} {route.Path} appended {after - size} entries, not 1");
            var entry = (await context.Admin.GetAsync($"api/v1/audit/entries?from={size}&limit=1")).Expect(HttpStatusCode.OK).Json["items"]![0]!;
            string expected = route.Path == "/api/v1/audit/records" ? route.Event : "aim:" + route.Event;
            Assert.Equal(expected, entry["capability"]!.GetValue<string>());
            size = after;
        }

        Assert.True((await context.Admin.GetAsync("api/v1/audit/verify")).Json["valid"]!.GetValue<bool>());
    }

    private static async Task<long> SizeAsync(AdminClient admin) =>
        SignedTreeHead.FromJson((await admin.GetAsync("api/v1/audit/tree-head")).Expect(HttpStatusCode.OK).Text).TreeSize;
}
