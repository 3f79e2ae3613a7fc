using System.Buffers.Text;
using System.Net;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;

namespace Aim.Server.Tests;

public sealed class ApiFlowTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    [Fact]
    public void Postgres_backend_is_present_when_running_in_CI()
    {
        // CI must run the PostgreSQL variant; locally the SQLite variant alone is acceptable.
        bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        Assert.False(ci && Tests.Backends.PostgresConnectionString is null,
            "CI=true but AIM_TEST_POSTGRES is not set: run `eval \"$(bash scripts/postgres.sh)\"` before the tests.");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Health_ready_and_openapi_describe_the_server(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        (await admin.GetAsync("health")).Expect(HttpStatusCode.OK);
        var ready = (await admin.GetAsync("health/ready")).Expect(HttpStatusCode.OK);
        Assert.Equal(backend, ready.Json["database"]!.GetValue<string>());
        var openapi = (await admin.GetAsync("openapi/v1.json")).Expect(HttpStatusCode.OK);
        Assert.NotNull(openapi.Json["paths"]!["/api/v1/verifications"]!["post"]);
        Assert.NotNull(openapi.Json["paths"]!["/api/v1/approvals/{id}/approve"]!["post"]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Granted_capability_is_approved_and_ungranted_is_denied(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "reader");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.OK); // idempotent with the same key
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read@users_*" } })).Expect(HttpStatusCode.OK);

        var allowed = (await agent.VerifyAsync("db:read", resource: "users_table")).Expect(HttpStatusCode.Created);
        Assert.Equal("approved", allowed.Json["status"]!.GetValue<string>());

        var wrongResource = (await agent.VerifyAsync("db:read", resource: "payments")).Expect(HttpStatusCode.Created);
        Assert.Equal("denied", wrongResource.Json["status"]!.GetValue<string>());

        var denied = (await agent.VerifyAsync("payment:refund")).Expect(HttpStatusCode.Created);
        Assert.Equal("denied", denied.Json["status"]!.GetValue<string>());
        Assert.Equal("capability_not_granted", denied.Json["reason_code"]!.GetValue<string>());
        Assert.Equal("critical", denied.Json["risk"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Pending_verification_waits_for_a_human_by_long_poll(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var approver = await admin.CreateKeyAsync("alice", "approver");
        using var agent = new AgentClient(server.Url, "payer");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "payment:*" } })).Expect(HttpStatusCode.OK);

        var pending = (await agent.VerifyAsync("payment:refund", jit: true)).Expect(HttpStatusCode.Created);
        Assert.Equal("pending", pending.Json["status"]!.GetValue<string>());
        string id = pending.Json["id"]!.GetValue<string>();

        var list = (await approver.GetAsync("api/v1/approvals")).Expect(HttpStatusCode.OK);
        Assert.Contains(list.Json["items"]!.AsArray(), i => i!["id"]!.GetValue<string>() == id);

        var poll = agent.SendAsync(HttpMethod.Get, $"api/v1/verifications/{id}?wait=20", null);
        await Task.Delay(300);
        Assert.False(poll.IsCompleted);
        var approved = (await approver.PostAsync($"api/v1/approvals/{id}/approve", new { reason = "customer called" })).Expect(HttpStatusCode.OK);
        Assert.Contains("alice", approved.Json["decided_by"]!.GetValue<string>(), StringComparison.Ordinal);

        var result = (await poll).Expect(HttpStatusCode.OK);
        Assert.Equal("approved", result.Json["status"]!.GetValue<string>());
        Assert.Equal("customer called", result.Json["decision_reason"]!.GetValue<string>());

        // Decided once: a second decision is refused.
        (await approver.PostAsync($"api/v1/approvals/{id}/deny", new { reason = "too late" })).Expect(HttpStatusCode.Conflict);

        // The result is reported once, after execution.
        (await agent.SendAsync(HttpMethod.Post, $"api/v1/verifications/{id}/result", new { outcome = "success" })).Expect(HttpStatusCode.OK);
        (await agent.SendAsync(HttpMethod.Post, $"api/v1/verifications/{id}/result", new { outcome = "success" })).Expect(HttpStatusCode.Conflict);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Denial_needs_a_reason_and_is_delivered_over_server_sent_events(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "mailer");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "email:send" } })).Expect(HttpStatusCode.OK);
        string id = (await agent.VerifyAsync("email:send", jit: true)).Json["id"]!.GetValue<string>();

        var events = agent.SendAsync(HttpMethod.Get, $"api/v1/verifications/{id}/events?wait=20", null);
        Assert.Equal("invalid_request", (await admin.PostAsync($"api/v1/approvals/{id}/deny", new { })).Expect(HttpStatusCode.BadRequest).ErrorCode);
        (await admin.PostAsync($"api/v1/approvals/{id}/deny", new { reason = "not today" })).Expect(HttpStatusCode.OK);
        var stream = (await events).Expect(HttpStatusCode.OK);
        Assert.StartsWith("event: status", stream.Text, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"denied\"", stream.Text, StringComparison.Ordinal);
        Assert.Contains("approval_denied", stream.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unanswered_approval_expires()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var server = await ServerHarness.StartAsync("sqlite", clock);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "slow") { Clock = () => clock.GetUtcNow().ToUnixTimeSeconds() };
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "email:send" } })).Expect(HttpStatusCode.OK);
        string id = (await agent.VerifyAsync("email:send", jit: true, timeoutSeconds: 5)).Json["id"]!.GetValue<string>();
        clock.Advance(TimeSpan.FromSeconds(6));
        var r = (await agent.SendAsync(HttpMethod.Get, $"api/v1/verifications/{id}", null)).Expect(HttpStatusCode.OK);
        Assert.Equal("expired", r.Json["status"]!.GetValue<string>());
        Assert.Equal("already_decided", (await admin.PostAsync($"api/v1/approvals/{id}/approve", new { })).Expect(HttpStatusCode.Conflict).ErrorCode);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Capability_request_approved_by_admin_becomes_a_grant(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "asker");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        Assert.Equal("denied", (await agent.VerifyAsync("files:read")).Json["status"]!.GetValue<string>());
        var request = (await agent.SendAsync(HttpMethod.Post, "api/v1/capability-requests", new { capability = "files:read", reason = "reports" })).Expect(HttpStatusCode.Created);
        string id = request.Json["id"]!.GetValue<string>();
        var listed = (await admin.GetAsync("api/v1/capability-requests?status=pending")).Expect(HttpStatusCode.OK);
        Assert.Single(listed.Json["items"]!.AsArray());
        (await admin.PostAsync($"api/v1/capability-requests/{id}/approve", new { reason = "ok" })).Expect(HttpStatusCode.OK);
        Assert.Equal("approved", (await agent.VerifyAsync("files:read")).Json["status"]!.GetValue<string>());
        (await admin.PostAsync($"api/v1/capability-requests/{id}/reject", new { reason = "changed my mind" })).Expect(HttpStatusCode.Conflict);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Agent_lifecycle_suspend_reactivate_revoke(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "worker");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
        (await admin.PatchAsync($"api/v1/agents/worker", new { description = "nightly job", isolation = "container" })).Expect(HttpStatusCode.OK);
        var shown = (await admin.GetAsync("api/v1/agents/worker")).Expect(HttpStatusCode.OK);
        Assert.Equal("nightly job", shown.Json["description"]!.GetValue<string>());
        Assert.Equal("db:read", shown.Json["grants"]![0]!.GetValue<string>());

        (await admin.PostAsync($"api/v1/agents/{agent.Id}/suspend")).Expect(HttpStatusCode.OK);
        Assert.Equal("agent_suspended", (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Forbidden).ErrorCode);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/reactivate")).Expect(HttpStatusCode.OK);
        (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Created);
        (await admin.DeleteAsync($"api/v1/agents/{agent.Id}/grants?capability=db:read")).Expect(HttpStatusCode.OK);
        Assert.Equal("denied", (await agent.VerifyAsync("db:read")).Json["status"]!.GetValue<string>());
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/revoke")).Expect(HttpStatusCode.OK);
        Assert.Equal("agent_revoked", (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Forbidden).ErrorCode);
        // Revocation is final.
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/reactivate")).Expect(HttpStatusCode.Conflict);
        var listed = (await admin.GetAsync("api/v1/agents?status=revoked")).Expect(HttpStatusCode.OK);
        Assert.Single(listed.Json["items"]!.AsArray());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Suspension_racing_a_burst_of_verifications_refuses_every_request_sent_after_it(string backend)
    {
        // Verifications decide on cached agent data; this pins that the cache never outlives the admin call that changed it.
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "bursty");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
        (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Created);

        long suspendedAt = long.MaxValue;
        using var stop = new CancellationTokenSource();
        var results = new System.Collections.Concurrent.ConcurrentBag<(long Sent, HttpStatusCode Status, string? Code)>();
        var burst = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                long sent = System.Diagnostics.Stopwatch.GetTimestamp();
                var r = await agent.VerifyAsync("db:read");
                results.Add((sent, r.Status, r.ErrorCode));
            }
        })).ToList();

        // Wait on what the burst did, not on the clock: a busy machine may answer nothing within a fixed delay.
        await Until(() => results.Count(r => r.Status == HttpStatusCode.Created) >= 4);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/suspend")).Expect(HttpStatusCode.OK);
        Interlocked.Exchange(ref suspendedAt, System.Diagnostics.Stopwatch.GetTimestamp());
        await Until(() => results.Count(r => r.Sent > Interlocked.Read(ref suspendedAt)) >= 8);
        await stop.CancelAsync();
        await Task.WhenAll(burst);

        var after = results.Where(r => r.Sent > suspendedAt).ToList();
        Assert.NotEmpty(after);
        Assert.All(after, r => Assert.Equal((HttpStatusCode.Forbidden, "agent_suspended"), (r.Status, r.Code)));
        Assert.Contains(results, r => r.Status == HttpStatusCode.Created); // the burst did run before the suspension

        // Reactivation is seen at once as well (a cached refusal is confirmed on current data).
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/reactivate")).Expect(HttpStatusCode.OK);
        (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Created);
        (await admin.DeleteAsync($"api/v1/agents/{agent.Id}/grants?capability=db:read")).Expect(HttpStatusCode.OK);
        Assert.Equal("denied", (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Created).Json["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Rotated_key_keeps_working_only_during_the_overlap()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var server = await ServerHarness.StartAsync("sqlite", clock);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "rotator") { Clock = () => clock.GetUtcNow().ToUnixTimeSeconds() };
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);

        var oldKey = agent.Key;
        using var newKey = Ed25519KeyPair.Generate();
        string newId = Aim.Identity.AgentIdentity.AipIdOf(newKey.PublicKey);
        var badProof = Base64Url.EncodeToString(oldKey.Sign(Server.Endpoints.AgentEndpoints.RotationProofMessage(agent.Id!, newId)));
        Assert.Equal("rotation_proof_invalid", (await agent.SendAsync(HttpMethod.Post, $"api/v1/agents/{agent.Id}/keys/rotate",
            new { new_aip_id = newId, proof = badProof, overlap_seconds = 60 })).Expect(HttpStatusCode.BadRequest).ErrorCode);
        var proof = Base64Url.EncodeToString(newKey.Sign(Server.Endpoints.AgentEndpoints.RotationProofMessage(agent.Id!, newId)));
        (await agent.SendAsync(HttpMethod.Post, $"api/v1/agents/{agent.Id}/keys/rotate", new { new_aip_id = newId, proof, overlap_seconds = 60 })).Expect(HttpStatusCode.OK);

        (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Created); // old key, inside the overlap
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("unknown_agent_key", (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Unauthorized).ErrorCode);
        agent.Key = newKey;
        (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Created);
        agent.Key = oldKey;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Audit_log_serves_signed_tree_heads_and_proofs_that_Aim_Core_verifies(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var auditor = await admin.CreateKeyAsync("audit", "auditor");
        using var agent = new AgentClient(server.Url, "recorder");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        for (int i = 0; i < 12; i++)
        {
            (await AppendAsync(agent, i)).Expect(HttpStatusCode.Created);
        }

        var head1 = SignedTreeHead.FromJson((await auditor.GetAsync("api/v1/audit/tree-head")).Expect(HttpStatusCode.OK).Text);
        Assert.True(head1.VerifySignature());
        Assert.Equal(14, head1.TreeSize); // the auditor key's creation, the registration, 12 records

        for (int i = 12; i < 20; i++)
        {
            (await AppendAsync(agent, i)).Expect(HttpStatusCode.Created);
        }

        var head2 = SignedTreeHead.FromJson((await auditor.GetAsync("api/v1/audit/tree-head")).Text);
        Assert.True(head2.VerifySignature());
        Assert.Equal(head1.LogPublicKey, head2.LogPublicKey);

        var entries = (await auditor.GetAsync($"api/v1/audit/entries?from=0&limit=100")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.Equal(head2.TreeSize, entries.Count);
        foreach (var e in entries)
        {
            long index = e!["index"]!.GetValue<long>();
            var body = Base64Url.DecodeFromChars(e["body"]!.GetValue<string>());
            var leaf = MerkleHash.Leaf(body);
            var p = (await auditor.GetAsync($"api/v1/audit/proofs/inclusion?index={index}&tree_size={head2.TreeSize}")).Expect(HttpStatusCode.OK).Json;
            var proof = new InclusionProof(index, head2.TreeSize, p["path"]!.AsArray().Select(x => Base64Url.DecodeFromChars(x!.GetValue<string>())).ToList());
            Assert.True(InclusionProof.Verify(leaf, proof, head2.RootHash), $"inclusion of {index}");
        }

        var c = (await auditor.GetAsync($"api/v1/audit/proofs/consistency?old_size={head1.TreeSize}&new_size={head2.TreeSize}")).Expect(HttpStatusCode.OK).Json;
        var consistency = new ConsistencyProof(head1.TreeSize, head2.TreeSize, c["path"]!.AsArray().Select(x => Base64Url.DecodeFromChars(x!.GetValue<string>())).ToList());
        Assert.True(ConsistencyProof.Verify(head1.RootHash, head2.RootHash, consistency));

        var filtered = (await auditor.GetAsync("api/v1/audit/entries?agent=recorder&kind=outcome")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.Equal(20, filtered.Count);
        var page = (await auditor.GetAsync("api/v1/audit/entries?from=0&limit=5")).Json;
        Assert.Equal(5, page["next_from"]!.GetValue<long>());
        Assert.True((await auditor.GetAsync("api/v1/audit/verify")).Expect(HttpStatusCode.OK).Json["valid"]!.GetValue<bool>());
        Assert.Equal("proof_out_of_range", (await auditor.GetAsync($"api/v1/audit/proofs/inclusion?index=99&tree_size={head2.TreeSize}")).Expect(HttpStatusCode.BadRequest).ErrorCode);
    }

    internal static Task<ApiResponse> AppendAsync(AgentClient agent, int i, Ed25519KeyPair? signer = null)
    {
        var record = Protocol.AuditRecordJson.ToJson(new AuditRecord
        {
            ActionId = $"a-{i}",
            Kind = AuditEntryKind.Outcome,
            AgentId = agent.Id!,
            AgentName = agent.Name,
            Capability = "db:read",
            Risk = RiskLevel.Low,
            Decision = "allow",
            Outcome = "success",
            DurationMs = 1.25,
        });
        var sig = (signer ?? agent.Key).Sign(Aim.Json.CanonicalJson.Serialize(record));
        return agent.SendAsync(HttpMethod.Post, "api/v1/audit/records", new JsonObject { ["record"] = record, ["record_sig"] = Base64Url.EncodeToString(sig) }.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Trust_score_has_nine_explained_factors_and_history(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "trusted");
        (await agent.RegisterAsync(admin.ApiKey, isolation: "container")).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
        (await agent.VerifyAsync("db:read")).Expect(HttpStatusCode.Created);
        (await agent.VerifyAsync("db:write")).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/feedback", new { rating = 5 })).Expect(HttpStatusCode.Created);

        var trust = (await admin.GetAsync($"api/v1/agents/{agent.Id}/trust")).Expect(HttpStatusCode.OK).Json;
        var factors = trust["factors"]!.AsArray();
        Assert.Equal(
            ["verification_status", "uptime", "action_success_rate", "security_alerts", "compliance", "execution_isolation", "agent_age", "drift_detection", "user_feedback"],
            factors.Select(f => f!["name"]!.GetValue<string>()));
        Assert.Equal(1.0, factors.Sum(f => f!["weight"]!.GetValue<double>()), 6);
        Assert.All(factors, f => Assert.False(string.IsNullOrWhiteSpace(f!["explanation"]!.GetValue<string>())));
        Assert.Equal(0.5, factors.Single(f => f!["name"]!.GetValue<string>() == "drift_detection")!["value"]!.GetValue<double>(), 3);
        double score = trust["score"]!.GetValue<double>();
        Assert.InRange(score, 0, 100);

        (await admin.PostAsync($"api/v1/agents/{agent.Id}/suspend")).Expect(HttpStatusCode.OK);
        var lower = (await admin.GetAsync($"api/v1/agents/{agent.Id}/trust")).Json["score"]!.GetValue<double>();
        Assert.True(lower < score);
        var history = (await admin.GetAsync($"api/v1/agents/{agent.Id}/trust/history")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.Equal(2, history.Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Mcp_server_is_trusted_only_after_attesting_its_key(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var mcpKey = Ed25519KeyPair.Generate();
        using var other = Ed25519KeyPair.Generate();
        var created = (await admin.PostAsync("api/v1/mcp-servers", new { name = "files", url = "https://mcp.example/files", public_key = Base64Url.EncodeToString(mcpKey.PublicKey) })).Expect(HttpStatusCode.Created).Json;
        Assert.False(created["attested"]!.GetValue<bool>());
        string id = created["id"]!.GetValue<string>();
        var challenge = Base64Url.DecodeFromChars(created["challenge"]!.GetValue<string>());
        Assert.Equal("attestation_invalid", (await admin.PostAsync($"api/v1/mcp-servers/{id}/attest", new { signature = Base64Url.EncodeToString(other.Sign(challenge)) })).Expect(HttpStatusCode.BadRequest).ErrorCode);
        var attested = (await admin.PostAsync($"api/v1/mcp-servers/{id}/attest", new { signature = Base64Url.EncodeToString(mcpKey.Sign(challenge)) })).Expect(HttpStatusCode.OK).Json;
        Assert.True(attested["attested"]!.GetValue<bool>());
        var list = (await admin.GetAsync("api/v1/mcp-servers")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.Single(list);
        (await admin.PostAsync("api/v1/mcp-servers", new { name = "files", url = "https://x", public_key = Base64Url.EncodeToString(mcpKey.PublicKey) })).Expect(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task First_start_writes_the_bootstrap_key_with_owner_only_permissions()
    {
        string data = TestDirectories.Create("aim-bootstrap").FullName;
        var app = await AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0", "--data", data], o => o.BootstrapAdminKey = null);
        await app.StartAsync();
        try
        {
            string path = Path.Combine(data, "admin.key");
            Assert.True(File.Exists(path));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            using var admin = new AdminClient(new Uri(app.Urls.First() + "/"), File.ReadAllText(path).Trim());
            (await admin.GetAsync("api/v1/agents")).Expect(HttpStatusCode.OK);
            var keys = (await admin.GetAsync("api/v1/api-keys")).Expect(HttpStatusCode.OK);
            Assert.DoesNotContain(File.ReadAllText(path).Trim(), keys.Text, StringComparison.Ordinal); // never shown again
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Revoked_api_key_and_wrong_roles_are_refused(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var auditor = await admin.CreateKeyAsync("aud", "auditor");
        Assert.Equal("role_forbidden", (await auditor.PostAsync("api/v1/api-keys", new { name = "x", role = "admin" })).Expect(HttpStatusCode.Forbidden).ErrorCode);
        using var registrar = await admin.CreateKeyAsync("reg", "registrar");
        Assert.Equal("role_forbidden", (await registrar.GetAsync("api/v1/audit/entries")).Expect(HttpStatusCode.Forbidden).ErrorCode);
        Assert.Equal("role_forbidden", (await registrar.GetAsync("api/v1/approvals")).Expect(HttpStatusCode.Forbidden).ErrorCode);
        using var orgAdmin = await admin.CreateOrgAsync("tenant");
        Assert.Equal("role_forbidden", (await orgAdmin.PostAsync("api/v1/orgs", new { name = "sub" })).Expect(HttpStatusCode.Forbidden).ErrorCode);
        var keys = (await admin.GetAsync("api/v1/api-keys")).Json["items"]!.AsArray();
        string audId = keys.Single(k => k!["name"]!.GetValue<string>() == "aud")!["id"]!.GetValue<string>();
        (await admin.PostAsync($"api/v1/api-keys/{audId}/revoke")).Expect(HttpStatusCode.OK);
        Assert.Equal("api_key_invalid", (await auditor.GetAsync("api/v1/audit/entries")).Expect(HttpStatusCode.Unauthorized).ErrorCode);
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms; fails the test if it does not hold within 60 s.</summary>
    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 60 s");
            await Task.Delay(20);
        }
    }
}
