using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Server.Compat;

namespace Aim.Server.Tests.Compat;

/// <summary>
/// AIM wire compatibility, hostile side first: the switch (off by default, per organization, admins only, audited),
/// AIM signatures that are replayed, stale, forged, tampered or speak for another agent, server-held keys only where
/// allowed, capability reports that never grant, and answers mapped from the one pipeline's decisions.
/// </summary>
public sealed class AimCompatTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    private static async Task<(ServerHarness Server, AdminClient Admin, AimSdkClient Agent)> StartAsync(string backend = "sqlite", bool serverKeys = true, TimeProvider? clock = null,
        params string[] grants)
    {
        var server = await ServerHarness.StartAsync(backend, clock);
        var admin = server.Admin();
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = serverKeys })).Expect(HttpStatusCode.OK);
        var (agent, r) = await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "aim-agent");
        Assert.True(agent is not null, r.Text);
        if (grants.Length > 0)
        {
            (await admin.PostAsync($"api/v1/agents/{ServerId(agent.AgentId)}/grants", new { capabilities = grants })).Expect(HttpStatusCode.OK);
        }

        return (server, admin, agent);
    }

    private static string ServerId(string uuid) => uuid.Replace("-", string.Empty, StringComparison.Ordinal);

    private static void Refused(ApiResponse r, HttpStatusCode status, string code)
    {
        Assert.True(r.Status == status, $"expected {(int)status} {code}, got {(int)r.Status}: {r.Text}");
        Assert.Equal(code, r.ErrorCode);
    }

    private static async Task<long> VerificationCountAsync(AdminClient admin) =>
        (await admin.GetAsync("api/v1/approvals?status=all&limit=1000")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray().Count;

    // ---- the switch ----

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task With_the_switch_off_every_aim_route_answers_the_documented_404(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var probe = new AimSdkClient(server.Url, Guid.NewGuid().ToString(), Ed25519KeyPair.Generate());
        string agent = probe.AgentId, v = Guid.NewGuid().ToString();
        async Task AllOff()
        {
            Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "x")).Response, HttpStatusCode.NotFound, CompatErrors.DisabledCode);
            foreach (var (method, path, body) in new (string, string, string?)[]
            {
                ("POST", "/api/v1/sdk-api/verifications", probe.VerificationBody("read_database")),
                ("GET", $"/api/v1/sdk-api/verifications/{v}", null),
                ("POST", $"/api/v1/sdk-api/verifications/{v}/result", "{\"result\": \"success\"}"),
                ("POST", $"/api/v1/sdk-api/agents/{agent}/capability-requests", "{\"capability_type\": \"write_database\", \"reason\": \"ten characters at least\"}"),
                ("POST", $"/api/v1/sdk-api/agents/{agent}/capabilities", "{\"capabilityType\": \"read_files\"}"),
                ("POST", $"/api/v1/sdk-api/agents/{agent}/mcp-servers", "{\"mcp_server_ids\": [\"fs\"]}"),
                ("POST", $"/api/v1/sdk-api/agents/{agent}/detection/report", "{\"detections\": [{\"mcpServer\": \"fs\"}]}"),
                ("POST", $"/api/v1/detection/agents/{agent}/report", "{\"detections\": [{\"mcpServer\": \"fs\"}]}"),
            })
            {
                var r = await probe.SendAsync(new HttpMethod(method), path, body);
                Refused(r, HttpStatusCode.NotFound, CompatErrors.DisabledCode);
                Assert.Contains("aim orgs compat", r.Json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
            }
        }

        // Off by default.
        var status = (await admin.GetAsync("api/v1/orgs/default/compat")).Expect(HttpStatusCode.OK).Json;
        Assert.False(status["enabled"]!.GetValue<bool>());
        await AllOff();

        // On for the organization, then off again: its agent is refused with the same 404, and nothing it sends is stored.
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        var (registered, _) = await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "switched");
        using var agentClient = registered!;
        (await agentClient.VerifyAsync("read_database")).Expect(HttpStatusCode.Created);
        long before = await VerificationCountAsync(admin);
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = false })).Expect(HttpStatusCode.OK);
        Refused(await agentClient.VerifyAsync("read_database"), HttpStatusCode.NotFound, CompatErrors.DisabledCode);
        Assert.Equal(before, await VerificationCountAsync(admin));
        await AllOff();
    }

    [Fact]
    public async Task The_switch_is_per_organization_admin_only_audited_and_validated()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        using var other = await admin.CreateOrgAsync("other-org");
        using var approver = await admin.CreateKeyAsync("approver", "approver");
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true })).Expect(HttpStatusCode.OK);

        // Another organization's key neither sees nor changes this one's switch, and its own stays off.
        Refused(await other.GetAsync("api/v1/orgs/default/compat"), HttpStatusCode.NotFound, "not_found");
        Refused(await other.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = false }), HttpStatusCode.NotFound, "not_found");
        Refused((await AimSdkClient.RegisterAsync(server.Url, other.ApiKey, "elsewhere")).Response, HttpStatusCode.NotFound, CompatErrors.DisabledCode);
        Refused(await approver.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = false }), HttpStatusCode.Forbidden, "role_forbidden");
        Refused(await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { server_keys = true }), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = false, server_keys = true }), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = "yes" }), HttpStatusCode.BadRequest, "invalid_request");
        Assert.True((await admin.GetAsync("api/v1/orgs/default/compat")).Json["enabled"]!.GetValue<bool>());

        // The organization by id works too; each change is one audit entry naming the new state.
        string orgId = (await admin.GetAsync("api/v1/orgs/default/compat")).Json["org_id"]!.GetValue<string>();
        (await admin.SendAsync(HttpMethod.Put, $"api/v1/orgs/{orgId}/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        var entries = (await admin.GetAsync("api/v1/audit/entries?capability=aim:org.compat_changed")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.Equal(2, entries.Count);
        string last = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(entries[^1]!["body"]!.GetValue<string>()));
        Assert.Contains("server-generated agent keys allowed", last, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aim_orgs_compat_turns_the_switch_on_and_off_from_the_cli()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        string keyFile = Path.Combine(server.DataDirectory, "cli.key");
        await File.WriteAllTextAsync(keyFile, server.AdminKey);
        string[] connection = ["--server", server.Url.AbsoluteUri, "--api-key-file", keyFile];
        var on = await AuditRestartTamperTests.AimAsync(["orgs", "compat", "default", "on", "--server-keys", .. connection]);
        Assert.True(on.ExitCode == 0, on.Err);
        Assert.Equal("default: AIM wire compatibility on (server-generated agent keys allowed)", on.Out.Trim());
        var status = await AuditRestartTamperTests.AimAsync(["orgs", "compat", "default", "status", "--json", .. connection]);
        Assert.True(JsonNode.Parse(status.Out)!["server_keys"]!.GetValue<bool>());
        var off = await AuditRestartTamperTests.AimAsync(["orgs", "compat", "default", "off", .. connection]);
        Assert.Equal("default: AIM wire compatibility off", off.Out.Trim());
        using var admin = server.Admin();
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "after-off")).Response, HttpStatusCode.NotFound, CompatErrors.DisabledCode);

        // Usage errors and refusals exit 2 with the code.
        Assert.Equal(2, (await AimCli(["orgs", "compat", "default", "off", "--server-keys", .. connection])).ExitCode);
        Assert.Equal(2, (await AimCli(["orgs", "compat", "default", "maybe", .. connection])).ExitCode);
        var elsewhere = await AimCli(["orgs", "compat", "other-org", "on", .. connection]);
        Assert.Equal(2, elsewhere.ExitCode);
        Assert.Contains("not_found", elsewhere.Err, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Out, string Err)> AimCli(string[] args) => AuditRestartTamperTests.AimAsync(args);

    // ---- AIM signatures ----

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_replayed_aim_signature_is_refused_and_stores_nothing(string backend)
    {
        var (server, admin, agent) = await StartAsync(backend, grants: "database:read");
        await using var _ = server;
        using var __ = admin;
        using var ___ = agent;
        long ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string body = agent.VerificationBody("read_database", "users_table");
        (await agent.SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", body, timestamp: ts)).Expect(HttpStatusCode.Created);
        long count = await VerificationCountAsync(admin);

        // The same bytes again (a captured request): refused, nothing stored, and counted against the agent. Spelling the same
        // signature another way (base64 with a space) does not make it another request.
        Refused(await agent.SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", body, timestamp: ts), HttpStatusCode.Unauthorized, CompatErrors.SignatureReplayed);
        Refused(await agent.SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", body, timestamp: ts, tamper: m =>
        {
            string sig = m.Headers.GetValues("X-Signature").Single();
            m.Headers.Remove("X-Signature");
            m.Headers.TryAddWithoutValidation("X-Signature", sig[..10] + " " + sig[10..]);
        }), HttpStatusCode.Unauthorized, CompatErrors.SignatureReplayed);
        Assert.Equal(count, await VerificationCountAsync(admin));

        // Replays of polls and results are refused too; a fresh signature over the same body is a new request.
        var id = (await agent.VerifyAsync("read_database")).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
        (await agent.SendAsync(HttpMethod.Get, $"/api/v1/sdk-api/verifications/{id}", null, timestamp: ts)).Expect(HttpStatusCode.OK);
        Refused(await agent.SendAsync(HttpMethod.Get, $"/api/v1/sdk-api/verifications/{id}", null, timestamp: ts), HttpStatusCode.Unauthorized, CompatErrors.SignatureReplayed);
        string result = "{\"result\": \"success\"}";
        (await agent.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/verifications/{id}/result", result, timestamp: ts)).Expect(HttpStatusCode.OK);
        Refused(await agent.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/verifications/{id}/result", result, timestamp: ts), HttpStatusCode.Unauthorized, CompatErrors.SignatureReplayed);
        (await agent.SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", body, timestamp: ts + 1)).Expect(HttpStatusCode.Created);

        // The trust score's security-alert factor saw the replays.
        var trust = (await admin.GetAsync($"api/v1/agents/{ServerId(agent.AgentId)}/trust")).Expect(HttpStatusCode.OK).Json;
        var alerts = trust["factors"]!.AsArray().Single(f => f!["name"]!.GetValue<string>().Contains("alert", StringComparison.OrdinalIgnoreCase))!;
        Assert.True(alerts["value"]!.GetValue<double>() < 1, alerts.ToJsonString());
    }

    [Fact]
    public async Task A_replay_to_another_replica_on_the_same_database_is_refused()
    {
        string data = TestDirectories.Create("aim-compat-replicas").FullName;
        string key = "aim_test_" + Guid.NewGuid().ToString("N");
        await using var first = await ServerHarness.StartAsync("sqlite", dataDirectory: data, adminKey: key);
        using var admin = first.Admin();
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        var (agent, _) = await AimSdkClient.RegisterAsync(first.Url, admin.ApiKey, "replicated");
        using var ___ = agent!;
        long ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string body = agent!.VerificationBody("read_database");
        var headers = new Dictionary<string, string>
        {
            ["X-Agent-ID"] = agent.AgentId, ["X-Public-Key"] = agent.PublicKey, ["X-Timestamp"] = ts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["X-Signature"] = Convert.ToBase64String(agent.Key.Sign(AimSdkClient.Message("POST", "/api/v1/sdk-api/verifications", ts, body))),
        };
        (await agent.SendRawAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", body, headers)).Expect(HttpStatusCode.Created);

        await using var second = await ServerHarness.StartAsync("sqlite", dataDirectory: data, adminKey: key);
        using var toSecond = new AimSdkClient(second.Url, agent.AgentId, agent.Key);
        Refused(await toSecond.SendRawAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", body, headers), HttpStatusCode.Unauthorized, CompatErrors.SignatureReplayed);
    }

    [Fact]
    public async Task Stale_forged_tampered_and_borrowed_aim_requests_are_refused_with_codes()
    {
        var (server, admin, agent) = await StartAsync(grants: "database:read");
        await using var _ = server;
        using var __ = admin;
        using var ___ = agent;
        var (other, _) = await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "other-agent");
        using var ____ = other!;
        using var stranger = Ed25519KeyPair.Generate();
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        const string Path = "/api/v1/sdk-api/verifications";
        long before = await VerificationCountAsync(admin);

        // Time: outside the 30 s window either way.
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), timestamp: now - 31), HttpStatusCode.Unauthorized, "signature_expired");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), timestamp: now + 31), HttpStatusCode.Unauthorized, "signature_expired");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), tamper: m => { m.Headers.Remove("X-Timestamp"); m.Headers.Add("X-Timestamp", "1e9"); }),
            HttpStatusCode.Unauthorized, "signature_invalid");

        // Headers: missing, repeated, malformed.
        foreach (var header in new[] { "X-Agent-ID", "X-Signature", "X-Timestamp", "X-Public-Key" })
        {
            Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), tamper: m => m.Headers.Remove(header)), HttpStatusCode.Unauthorized, "signature_missing");
            // A second value (sent as one comma-joined field) is never taken for the first.
            var twice = await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), tamper: m => m.Headers.TryAddWithoutValidation(header, "again"));
            Assert.True(twice.Status == HttpStatusCode.Unauthorized && twice.ErrorCode is "signature_invalid" or "unknown_agent_key", $"{header} twice: {twice.Text}");
        }

        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), tamper: m => { m.Headers.Remove("X-Signature"); m.Headers.Add("X-Signature", "not base64!"); }),
            HttpStatusCode.Unauthorized, "signature_invalid");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), tamper: m => { m.Headers.Remove("X-Public-Key"); m.Headers.Add("X-Public-Key", "AAAA"); }),
            HttpStatusCode.Unauthorized, "signature_invalid");

        // Signatures: another key, another body, another path, another method.
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), signer: stranger), HttpStatusCode.Unauthorized, "signature_invalid");
        string body = agent.VerificationBody("read_database");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, body.Replace("read_database", "delete_data", StringComparison.Ordinal), signedBody: body), HttpStatusCode.Unauthorized, "signature_invalid");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, body, tamper: m => m.RequestUri = new Uri(m.RequestUri!.ToString().Replace("verifications", "verifications/", StringComparison.Ordinal), UriKind.RelativeOrAbsolute)),
            HttpStatusCode.Unauthorized, "signature_invalid");

        // Identity: an unknown agent, a key that is not the agent's, another agent's id with one's own key.
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), agentId: Guid.NewGuid().ToString()), HttpStatusCode.Unauthorized, "unknown_agent_key");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), agentId: other!.AgentId), HttpStatusCode.Unauthorized, "unknown_agent_key");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database"), agentId: "not-a-uuid"), HttpStatusCode.Unauthorized, "unknown_agent_key");

        // The body: another agent's id, another public key, a body signature that does not verify.
        string mine = agent.AgentId;
        agent.AgentId = other.AgentId;
        string borrowed = agent.VerificationBody("read_database");
        agent.AgentId = mine;
        Refused(await agent.SendAsync(HttpMethod.Post, Path, borrowed), HttpStatusCode.Forbidden, "agent_mismatch");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database").Replace(agent.PublicKey, other.PublicKey, StringComparison.Ordinal)),
            HttpStatusCode.Unauthorized, "signature_invalid");
        Refused(await agent.SendAsync(HttpMethod.Post, Path, agent.VerificationBody("read_database", signer: stranger)), HttpStatusCode.Unauthorized, "signature_invalid");

        // Routes that name an agent: only the signer's own.
        Refused(await agent.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{other.AgentId}/mcp-servers", "{\"mcp_server_ids\": [\"fs\"]}"), HttpStatusCode.NotFound, "not_found");
        var theirs = (await other.VerifyAsync("read_database")).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
        Refused(await agent.PollAsync(theirs), HttpStatusCode.NotFound, "not_found");
        Refused(await agent.ResultAsync(theirs, true), HttpStatusCode.NotFound, "not_found");
        Refused(await agent.PollAsync("not-a-uuid"), HttpStatusCode.NotFound, "not_found");

        Assert.Equal(before + 1, await VerificationCountAsync(admin));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Aim_agents_of_one_organization_reach_nothing_of_another(string backend)
    {
        var (server, adminA, agentA) = await StartAsync(backend, grants: "database:read");
        await using var _ = server;
        using var __ = adminA;
        using var ___ = agentA;
        using var adminB = await adminA.CreateOrgAsync("org-b");
        (await adminB.SendAsync(HttpMethod.Put, "api/v1/orgs/org-b/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        var (agentB, _) = await AimSdkClient.RegisterAsync(server.Url, adminB.ApiKey, "aim-agent");
        using var ____ = agentB!;
        string theirs = (await agentA.VerifyAsync("read_database")).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();

        Refused(await agentB!.PollAsync(theirs), HttpStatusCode.NotFound, "not_found");
        Refused(await agentB.ResultAsync(theirs, true), HttpStatusCode.NotFound, "not_found");
        Refused(await agentB.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{agentA.AgentId}/mcp-servers", "{\"mcp_server_ids\": [\"fs\"]}"), HttpStatusCode.NotFound, "not_found");
        Refused(await agentB.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{agentA.AgentId}/capability-requests", "{\"capability_type\": \"read_database\", \"reason\": \"borrowing a grant\"}"),
            HttpStatusCode.NotFound, "not_found");
        Refused(await agentB.SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", agentB.VerificationBody("read_database"), agentId: agentA.AgentId),
            HttpStatusCode.Unauthorized, "unknown_agent_key");
        Assert.Empty((await adminA.GetAsync("api/v1/capability-requests?status=pending")).Json["items"]!.AsArray());

        // Each organization's switch is its own.
        (await adminB.SendAsync(HttpMethod.Put, "api/v1/orgs/org-b/compat", new { enabled = false })).Expect(HttpStatusCode.OK);
        Refused(await agentB.VerifyAsync("read_database"), HttpStatusCode.NotFound, CompatErrors.DisabledCode);
        Assert.Equal("approved", (await agentA.VerifyAsync("read_database")).Expect(HttpStatusCode.Created).Json["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Suspended_and_revoked_aim_agents_are_refused()
    {
        var (server, admin, agent) = await StartAsync(grants: "database:read");
        await using var _ = server;
        using var __ = admin;
        using var ___ = agent;
        (await admin.PostAsync($"api/v1/agents/{ServerId(agent.AgentId)}/suspend")).Expect(HttpStatusCode.OK);
        Refused(await agent.VerifyAsync("read_database"), HttpStatusCode.Forbidden, "agent_suspended");
        (await admin.PostAsync($"api/v1/agents/{ServerId(agent.AgentId)}/reactivate")).Expect(HttpStatusCode.OK);
        (await agent.VerifyAsync("read_database")).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{ServerId(agent.AgentId)}/revoke")).Expect(HttpStatusCode.OK);
        Refused(await agent.VerifyAsync("read_database"), HttpStatusCode.Forbidden, "agent_revoked");
    }

    // ---- registration and key custody ----

    [Fact]
    public async Task Server_generated_keys_need_the_operator_switch_and_client_keys_need_proof_of_possession()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        using var auditor = await admin.CreateKeyAsync("auditor", "auditor");
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true })).Expect(HttpStatusCode.OK);

        // Without --server-keys, AIM's one-line registration (no public key) is refused and no agent is created.
        var refused = (await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "wants-a-key")).Response;
        Refused(refused, HttpStatusCode.Forbidden, CompatErrors.ServerKeysDisabled);
        Assert.Contains("--server-keys", refused.Json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty((await admin.GetAsync("api/v1/agents")).Json["items"]!.AsArray());

        // A client-held key: registered with a signature by that key; no private key in the answer.
        using var own = Ed25519KeyPair.Generate();
        using var thief = Ed25519KeyPair.Generate();
        Refused((await AimSdkClient.RegisterOwnKeyAsync(server.Url, admin.ApiKey, "own-key", own, sign: false)).Response, HttpStatusCode.Unauthorized, "signature_missing");
        Refused((await AimSdkClient.RegisterOwnKeyAsync(server.Url, admin.ApiKey, "own-key", own, signer: thief)).Response, HttpStatusCode.Unauthorized, "signature_invalid");
        Refused((await AimSdkClient.RegisterOwnKeyAsync(server.Url, admin.ApiKey, "own-key", own, timestamp: DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60)).Response,
            HttpStatusCode.Unauthorized, "signature_expired");
        Refused((await AimSdkClient.RegisterOwnKeyAsync(server.Url, auditor.ApiKey, "own-key", own)).Response, HttpStatusCode.Forbidden, "role_forbidden");
        Refused((await AimSdkClient.RegisterOwnKeyAsync(server.Url, "aim_wrong", "own-key", own)).Response, HttpStatusCode.Unauthorized, "api_key_invalid");
        long ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var (client, created) = await AimSdkClient.RegisterOwnKeyAsync(server.Url, admin.ApiKey, "own-key", own, timestamp: ts);
        using var _ = client!;
        created.Expect(HttpStatusCode.Created);
        Assert.Null(created.Json["private_key"]);
        Assert.Equal("client", created.Json["key_custody"]!.GetValue<string>());
        Assert.Equal(Convert.ToBase64String(own.PublicKey), created.Json["public_key"]!.GetValue<string>());
        // The same signed registration again is a replay.
        Refused((await AimSdkClient.RegisterOwnKeyAsync(server.Url, admin.ApiKey, "own-key", own, timestamp: ts)).Response, HttpStatusCode.Unauthorized, CompatErrors.SignatureReplayed);
        // ... and the agent acts with the SDK's manual AIMClient(agent_id, public_key, private_key) path.
        (await admin.PostAsync($"api/v1/agents/{ServerId(client!.AgentId)}/grants", new { capabilities = new[] { "database:read" } })).Expect(HttpStatusCode.OK);
        Assert.Equal("approved", (await client.VerifyAsync("read_database")).Expect(HttpStatusCode.Created).Json["status"]!.GetValue<string>());

        // With --server-keys the server generates the pair and shows the private key once; it is never stored.
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        var (generated, answer) = await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "server-key");
        using var __ = generated!;
        string privateKey = answer.Json["private_key"]!.GetValue<string>();
        Assert.Equal(64, Convert.FromBase64String(privateKey).Length);
        Assert.Equal("server", answer.Json["key_custody"]!.GetValue<string>());
        var seed = Convert.FromBase64String(privateKey)[..32];
        foreach (var file in Directory.EnumerateFiles(server.DataDirectory, "*", SearchOption.AllDirectories))
        {
            var bytes = await ReadSharedAsync(file);
            Assert.True(bytes.AsSpan().IndexOf(seed) < 0, $"{file} holds the agent's private key");
            Assert.DoesNotContain(privateKey, Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
        }

        // The same name again with a new server key is a conflict, not a second agent.
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "server-key")).Response, HttpStatusCode.Conflict, "agent_exists");
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var memory = new MemoryStream();
        await stream.CopyToAsync(memory);
        return memory.ToArray();
    }

    [Fact]
    public async Task Registration_refuses_bad_bodies_and_turns_declared_capabilities_into_requests()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "Not A Name")).Response, HttpStatusCode.BadRequest, "invalid_request");
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "typed", new JsonObject { ["agent_type"] = "robot" })).Response, HttpStatusCode.BadRequest, "invalid_request");
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "caps", new JsonObject { ["capabilities"] = new JsonArray("read!database") })).Response,
            HttpStatusCode.BadRequest, "invalid_capability");
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "caps", new JsonObject { ["capabilities"] = new JsonArray("aim:api_key.revoked") })).Response,
            HttpStatusCode.BadRequest, "invalid_capability");
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "caps", new JsonObject { ["capabilities"] = new JsonArray("read_aim") })).Response,
            HttpStatusCode.Forbidden, "reserved_capability");
        Refused((await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "caps", new JsonObject { ["public_key"] = "short" })).Response, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Empty((await admin.GetAsync("api/v1/agents")).Json["items"]!.AsArray());

        var (agent, r) = await AimSdkClient.RegisterAsync(server.Url, admin.ApiKey, "declares", new JsonObject
        {
            ["capabilities"] = new JsonArray("read_database", "send_email", "read_database"),
            ["talks_to"] = new JsonArray("filesystem-mcp"),
        });
        using var _ = agent!;
        Assert.Equal("[\"database:read\",\"email:send\"]", r.Json["capability_requests"]!.ToJsonString());
        var requests = (await admin.GetAsync("api/v1/capability-requests?status=pending")).Json["items"]!.AsArray();
        Assert.Equal(["database:read", "email:send"], requests.Select(q => q!["capability"]!.GetValue<string>()).Order().ToArray());
        // Declared is not granted: the pipeline denies until an admin decides.
        var denied = (await agent!.VerifyAsync("read_database")).Expect(HttpStatusCode.Created).Json;
        Assert.Equal("denied", denied["status"]!.GetValue<string>());
        Assert.StartsWith("capability_not_granted: ", denied["denial_reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    // ---- decisions: the one pipeline, AIM's shapes ----

    [Fact]
    public async Task Verifications_are_decided_by_the_pipeline_and_answered_in_aim_shape()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var (server, admin, agent) = await StartAsync(clock: clock, grants: ["database:read", "payment:refund", "command:execute"]);
        await using var _ = server;
        using var __ = admin;
        using var ___ = agent;
        agent.Clock = () => clock.GetUtcNow().ToUnixTimeSeconds();

        // Allowed: status approved by the policy, 201, the mapped capability and the risk floor.
        var ok = (await agent.VerifyAsync("read_database", "users_table")).Expect(HttpStatusCode.Created).Json;
        Assert.Equal("approved", ok["status"]!.GetValue<string>());
        Assert.Equal("policy", ok["approved_by"]!.GetValue<string>());
        Assert.Equal("database:read", ok["capability"]!.GetValue<string>());
        Assert.Equal("medium", ok["risk"]!.GetValue<string>());        // AIM says low; Aim's classification of database:read is the floor
        Assert.Equal("high", (await agent.VerifyAsync("execute_command")).Json["risk"]!.GetValue<string>());   // AIM's table raises command:execute
        Assert.Equal("critical", (await agent.VerifyAsync("read_database", context: new JsonObject { ["risk_level"] = "critical" })).Json["risk"]!.GetValue<string>());
        Assert.NotNull(ok["trust_score"]);

        // Denied: 201 with status denied (not 403, which AIM's SDK would report as an authentication failure) and our reason.
        var no = (await agent.VerifyAsync("delete_data", "users_table")).Expect(HttpStatusCode.Created).Json;
        Assert.Equal("denied", no["status"]!.GetValue<string>());
        Assert.Equal("capability_not_granted", no["reason_code"]!.GetValue<string>());
        Assert.Equal("capability", no["step"]!.GetValue<string>());
        Assert.Equal("capability_not_granted: Agent 'aim-agent' has no grant for 'data:delete'.", no["denial_reason"]!.GetValue<string>());

        // JIT from the context: pending until an approver decides; the poll sees the decision and who made it.
        var pending = (await agent.VerifyAsync("refund_payment", "order-42", new JsonObject { ["jit_access"] = true, ["amount"] = "30.00" })).Json;
        Assert.Equal("pending", pending["status"]!.GetValue<string>());
        Assert.Equal("payment:refund", pending["capability"]!.GetValue<string>());
        string id = pending["id"]!.GetValue<string>();
        Assert.Equal("pending", (await agent.PollAsync(id)).Expect(HttpStatusCode.OK).Json["status"]!.GetValue<string>());
        var listed = (await admin.GetAsync($"api/v1/approvals/{ServerId(id)}")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("aim:refund_payment", listed["method"]!.GetValue<string>());
        (await admin.PostAsync($"api/v1/approvals/{ServerId(id)}/approve", new { reason = "checked" })).Expect(HttpStatusCode.OK);
        clock.Advance(TimeSpan.FromSeconds(2));
        var approved = (await agent.PollAsync(id)).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("approved", approved["status"]!.GetValue<string>());
        Assert.StartsWith("bootstrap (key ", approved["approved_by"]!.GetValue<string>(), StringComparison.Ordinal);
        (await agent.ResultAsync(id, true, "refunded")).Expect(HttpStatusCode.OK);
        Refused(await agent.ResultAsync(id, false), HttpStatusCode.Conflict, "result_not_accepted");
        Refused(await agent.ResultAsync(no["id"]!.GetValue<string>(), true), HttpStatusCode.Conflict, "result_not_accepted");
        Refused(await agent.SendAsync(HttpMethod.Post, $"/api/v1/sdk-api/verifications/{ok["id"]}/result", "{\"result\": \"maybe\"}"), HttpStatusCode.BadRequest, "invalid_request");

        // An approval nobody gives in time is a denial (approval_timeout), so the SDK stops polling at once.
        var waiting = (await agent.VerifyAsync("refund_payment", context: new JsonObject { ["jit_access"] = true, ["jit_timeout_seconds"] = 5 })).Json["id"]!.GetValue<string>();
        clock.Advance(TimeSpan.FromSeconds(6));
        var expired = (await agent.PollAsync(waiting)).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("denied", expired["status"]!.GetValue<string>());
        Assert.StartsWith("approval_timeout: ", expired["denial_reason"]!.GetValue<string>(), StringComparison.Ordinal);

        // Attributes come from the context's string values: a policy that requires one is met only when the context carries it.
        (await admin.SendAsync(HttpMethod.Put, $"api/v1/agents/{ServerId(agent.AgentId)}/policy", new { attributes = new { environment = new[] { "prod" } } })).Expect(HttpStatusCode.OK);
        Assert.Equal("attribute_mismatch", (await agent.VerifyAsync("read_database")).Json["reason_code"]!.GetValue<string>());
        Assert.Equal("approved", (await agent.VerifyAsync("read_database", context: new JsonObject { ["environment"] = "prod" })).Json["status"]!.GetValue<string>());
        Assert.Equal("attribute_mismatch", (await agent.VerifyAsync("read_database", context: new JsonObject { ["environment"] = 7 })).Json["reason_code"]!.GetValue<string>());

        // Malformed requests are refused with codes, not decided.
        Refused(await agent.VerifyAsync("read!database"), HttpStatusCode.BadRequest, "invalid_capability");
        Refused(await agent.VerifyAsync("read_aim"), HttpStatusCode.Forbidden, "reserved_capability");
        Refused(await agent.VerifyAsync("read_database", context: new JsonObject { ["jit_access"] = "yes" }), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await agent.VerifyAsync("read_database", context: new JsonObject { ["risk_level"] = "none" }), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await agent.VerifyAsync("read_database", context: new JsonObject { ["jit_timeout_seconds"] = 1e9 }), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await agent.SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", "{\"action_type\": \"read_database\"}"), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await agent.SendAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", "[1]"), HttpStatusCode.BadRequest, "malformed_json");
    }

    [Fact]
    public async Task Capability_reports_and_requests_never_grant_and_mcp_reports_are_kept_per_agent()
    {
        var (server, admin, agent) = await StartAsync(grants: "database:read");
        await using var _ = server;
        using var __ = admin;
        using var ___ = agent;
        string path = $"/api/v1/sdk-api/agents/{agent.AgentId}";

        // A reported capability becomes one pending request; reporting it again changes nothing; one held already is "granted".
        var reported = (await agent.SendAsync(HttpMethod.Post, path + "/capabilities", "{\"capabilityType\": \"send_email\", \"scope\": {\"source\": \"python_sdk_auto_detection\"}}"))
            .Expect(HttpStatusCode.Created).Json;
        Assert.Equal("pending", reported["status"]!.GetValue<string>());
        Assert.Equal("email:send", reported["capability"]!.GetValue<string>());
        var again = (await agent.SendAsync(HttpMethod.Post, path + "/capabilities", "{\"capabilityType\": \"send_email\"}")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(reported["id"]!.GetValue<string>(), again["id"]!.GetValue<string>());
        Assert.Equal("granted", (await agent.SendAsync(HttpMethod.Post, path + "/capabilities", "{\"capabilityType\": \"read_database\"}")).Expect(HttpStatusCode.OK).Json["status"]!.GetValue<string>());
        Assert.Equal("denied", (await agent.VerifyAsync("send_email")).Json["status"]!.GetValue<string>());

        // An explicit request, decided by an admin: then the pipeline allows it.
        Refused(await agent.SendAsync(HttpMethod.Post, path + "/capability-requests", "{\"capability_type\": \"write_database\", \"reason\": \"short\"}"), HttpStatusCode.BadRequest, "invalid_request");
        var request = (await agent.SendAsync(HttpMethod.Post, path + "/capability-requests", "{\"capability_type\": \"write_database\", \"reason\": \"nightly sync of user records\"}"))
            .Expect(HttpStatusCode.Created).Json;
        Assert.Equal("database:write", request["capability"]!.GetValue<string>());
        Assert.Equal("denied", (await agent.VerifyAsync("write_database")).Json["status"]!.GetValue<string>());
        (await admin.PostAsync($"api/v1/capability-requests/{ServerId(request["id"]!.GetValue<string>())}/approve", new { })).Expect(HttpStatusCode.OK);
        Assert.Equal("approved", (await agent.VerifyAsync("write_database")).Json["status"]!.GetValue<string>());

        // MCP servers: registered and detected, each kept once per agent; the SDK-integration report names the SDK.
        var mcp = (await agent.SendAsync(HttpMethod.Post, path + "/mcp-servers", "{\"confidence\": 100.0, \"detected_method\": \"manual\", \"mcp_server_ids\": [\"fs\", \"fs\"], \"metadata\": {}}"))
            .Expect(HttpStatusCode.OK).Json;
        Assert.Equal("[\"fs\"]", mcp["talks_to"]!.ToJsonString());
        var detected = (await agent.SendAsync(HttpMethod.Post, $"/api/v1/detection/agents/{agent.AgentId}/report",
            "{\"detections\": [{\"confidence\": 95.0, \"detectionMethod\": \"sdk_import\", \"mcpServer\": \"fs\"}, {\"detectionMethod\": \"claude_config\", \"mcpServer\": \"github\"}]}"))
            .Expect(HttpStatusCode.OK).Json;
        Assert.Equal("[\"github\"]", detected["newMCPs"]!.ToJsonString());
        Assert.Equal("[\"fs\"]", detected["existingMCPs"]!.ToJsonString());
        (await agent.SendAsync(HttpMethod.Post, path + "/detection/report",
            "{\"detections\": [{\"confidence\": 100.0, \"detectionMethod\": \"sdk_integration\", \"mcpServer\": \"aim-sdk-integration\", \"sdkVersion\": \"aim-sdk-python@1.0.0\"}]}"))
            .Expect(HttpStatusCode.OK);
        Refused(await agent.SendAsync(HttpMethod.Post, path + "/detection/report", "{\"detections\": []}"), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await agent.SendAsync(HttpMethod.Post, path + "/detection/report", "{\"detections\": [{\"mcpServer\": \"x\", \"details\": 5}]}"), HttpStatusCode.BadRequest, "invalid_request");
        Refused(await agent.SendAsync(HttpMethod.Post, path + "/mcp-servers", "{\"mcp_server_ids\": [\"" + new string('m', 201) + "\"]}"), HttpStatusCode.BadRequest, "invalid_request");

        var compat = server.Services.GetService(typeof(CompatStore)) as CompatStore;
        string org = (await compat!.FindOrgAsync("default"))!.Id;
        Assert.Equal(["fs", "github"], (await compat.ListMcpAsync(org, ServerId(agent.AgentId))).Select(m => m.Name).ToArray());
        Assert.Equal("AIM Python SDK 1.0.0", (await compat.FindAgentAsync(org, ServerId(agent.AgentId)))!.Marker);
    }

    // ---- the capability naming rule ----

    [Theory]
    [InlineData("read_database", "database:read")]
    [InlineData("write_database", "database:write")]
    [InlineData("send_email", "email:send")]
    [InlineData("delete_data", "data:delete")]
    [InlineData("execute_command", "command:execute")]
    [InlineData("query_api", "api:query")]
    [InlineData("modify_config", "config:modify")]
    [InlineData("admin_action", "action:admin")]
    [InlineData("refund_payment", "payment:refund")]
    [InlineData("send_bulk_email", "bulk_email:send")]
    [InlineData("database_read", "database:read")]
    [InlineData("make_api_calls", "api_calls:make")]
    [InlineData("web_scraping", "web_scraping:use")]
    [InlineData("tools", "tools:use")]
    [InlineData("Read-Database", "database:read")]
    [InlineData("read database", "database:read")]
    [InlineData("db:read", "db:read")]
    public void Aim_capability_names_map_onto_namespace_action(string name, string expected) =>
        Assert.Equal(expected, AimCapabilityNames.Map(name).Value);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("read!database")]
    [InlineData("_")]
    [InlineData("1password")]
    [InlineData("read_2fa")]
    [InlineData("dB:Read")]
    public void Unmappable_names_are_refused_with_a_reason(string name)
    {
        Assert.Null(AimCapabilityNames.TryMap(name, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    // The table in docs/server.md ("Capability names and risk"): AIM's level, Aim's classification, the one the pipeline uses.
    [Theory]
    [InlineData("read_database", "database:read", RiskLevel.Low, RiskLevel.Medium, RiskLevel.Medium)]
    [InlineData("write_database", "database:write", RiskLevel.Medium, RiskLevel.Medium, RiskLevel.Medium)]
    [InlineData("send_email", "email:send", RiskLevel.Medium, RiskLevel.High, RiskLevel.High)]
    [InlineData("delete_data", "data:delete", RiskLevel.High, RiskLevel.High, RiskLevel.High)]
    [InlineData("execute_command", "command:execute", RiskLevel.High, RiskLevel.High, RiskLevel.High)]
    [InlineData("admin_action", "action:admin", RiskLevel.High, RiskLevel.Critical, RiskLevel.Critical)]
    [InlineData("refund_payment", "payment:refund", RiskLevel.Medium, RiskLevel.Critical, RiskLevel.Critical)]
    [InlineData("make_api_calls", "api_calls:make", RiskLevel.Medium, RiskLevel.Medium, RiskLevel.Medium)]
    [InlineData("web_scraping", "web_scraping:use", RiskLevel.Medium, RiskLevel.Medium, RiskLevel.Medium)]
    public void The_documented_mapping_table_holds(string name, string capability, RiskLevel aims, RiskLevel ours, RiskLevel used)
    {
        var mapped = AimCapabilityNames.Map(name);
        Assert.Equal(capability, mapped.Value);
        Assert.Equal(aims, AimRiskTable.Of(name));
        Assert.Equal(ours, Aim.Capabilities.RiskClassifier.Classify(mapped.Value).Level);
        Assert.Equal(used, aims > ours ? aims : ours);
    }

    [Fact]
    public void Aims_risk_table_is_read_as_aim_writes_it()
    {
        Assert.Equal(RiskLevel.Low, AimRiskTable.Of("read_database"));
        Assert.Equal(RiskLevel.Medium, AimRiskTable.Of("send_email"));
        Assert.Equal(RiskLevel.High, AimRiskTable.Of("admin_action"));
        Assert.Equal(RiskLevel.Medium, AimRiskTable.Of("something_else"));
        Assert.Equal(("aim-python", "1.0.0"), AimSdkKinds.FromUserAgent("AIM-Python-SDK/1.0.0"));
        Assert.Null(AimSdkKinds.FromUserAgent("python-requests/2.28.1"));
        Assert.Equal(("aim-typescript", "0.3.1"), AimSdkKinds.FromSdkVersion("aim-sdk-typescript@0.3.1"));
    }
}
