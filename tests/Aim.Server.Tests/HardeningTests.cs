using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Audit;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Aim.Server.Tests;

/// <summary>Issue 17: each gap the security review found, pinned by a test that failed before the fix.</summary>
public sealed class HardeningTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    private static async Task<long> LogSizeAsync(AdminClient admin) =>
        SignedTreeHead.FromJson((await admin.GetAsync("api/v1/audit/tree-head")).Expect(HttpStatusCode.OK).Text).TreeSize;

    private static async Task<JsonArray> EntriesAsync(AdminClient admin, long from = 0) =>
        (await admin.GetAsync($"api/v1/audit/entries?from={from}&limit=1000")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();

    /// <summary>Runs one SQL statement straight against the server's database (what an attacker with database access does).</summary>
    internal static async Task<int> SqlAsync(ServerHarness server, string sql, params (string Name, object? Value)[] parameters)
    {
        if (server.Postgres is { } pg)
        {
            await using var connection = new NpgsqlConnection(pg);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name.TrimStart('@'), value ?? DBNull.Value);
            }

            return await command.ExecuteNonQueryAsync();
        }

        await using var sqlite = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "aim.db")};Pooling=False");
        await sqlite.OpenAsync();
        await using var c = sqlite.CreateCommand();
        c.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            c.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return await c.ExecuteNonQueryAsync();
    }

    // ---- item 2: approvals decide once ----

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_decided_approval_is_never_decided_again_and_appends_one_decision_entry(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var alice = await admin.CreateKeyAsync("alice", "approver");
        using var bob = await admin.CreateKeyAsync("bob", "approver");
        using var agent = new AgentClient(server.Url, "payer");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "payment:*" } })).Expect(HttpStatusCode.OK);
        string id = (await agent.VerifyAsync("payment:refund", jit: true)).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();

        (await alice.PostAsync($"api/v1/approvals/{id}/approve", new { reason = "customer called" })).Expect(HttpStatusCode.OK);
        long size = await LogSizeAsync(admin);

        // The same approver again (same or new reason), the other verb, another approver: all refused, nothing appended.
        Assert.Equal("already_decided", (await alice.PostAsync($"api/v1/approvals/{id}/approve", new { reason = "customer called" })).Expect(HttpStatusCode.Conflict).ErrorCode);
        Assert.Equal("already_decided", (await alice.PostAsync($"api/v1/approvals/{id}/approve", new { reason = "a better story" })).Expect(HttpStatusCode.Conflict).ErrorCode);
        Assert.Equal("already_decided", (await alice.PostAsync($"api/v1/approvals/{id}/deny", new { reason = "changed my mind" })).Expect(HttpStatusCode.Conflict).ErrorCode);
        Assert.Equal("already_decided", (await bob.PostAsync($"api/v1/approvals/{id}/deny", new { reason = "no" })).Expect(HttpStatusCode.Conflict).ErrorCode);
        Assert.Equal(size, await LogSizeAsync(admin));

        var stored = (await admin.GetAsync($"api/v1/approvals/{id}")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("approved", stored["status"]!.GetValue<string>());
        Assert.Equal("customer called", stored["decision_reason"]!.GetValue<string>());
        var decisions = (await EntriesAsync(admin)).Where(e => e!["capability"]!.GetValue<string>().StartsWith("aim:approval.", StringComparison.Ordinal)).ToList();
        Assert.Single(decisions);
        Assert.Contains("customer called", decisions[0]!["entry"]!["record"]!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // The database itself keeps the decision: a direct rewrite of the decided row is refused.
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
            SqlAsync(server, "UPDATE verifications SET decision_reason = 'rewritten' WHERE id = @i", ("@i", id)));
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => SqlAsync(server, "DELETE FROM verifications WHERE id = @i", ("@i", id)));
        // Its outcome may still be reported once.
        (await agent.SendAsync(HttpMethod.Post, $"api/v1/verifications/{id}/result", new { outcome = "success" })).Expect(HttpStatusCode.OK);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Concurrent_decisions_on_one_approval_or_request_let_exactly_one_through(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "racer");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "payment:*" } })).Expect(HttpStatusCode.OK);
        string id = (await agent.VerifyAsync("payment:refund", jit: true)).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
        string request = (await agent.SendAsync(HttpMethod.Post, "api/v1/capability-requests", new { capability = "db:read" })).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
        long size = await LogSizeAsync(admin);

        var approvals = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => admin.PostAsync($"api/v1/approvals/{id}/{(i % 2 == 0 ? "approve" : "deny")}", new { reason = "r" + i })));
        var requests = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => admin.PostAsync($"api/v1/capability-requests/{request}/{(i % 2 == 0 ? "approve" : "reject")}", new { reason = "r" + i })));
        Assert.Equal(1, approvals.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(1, requests.Count(r => r.Status == HttpStatusCode.OK));
        Assert.All(approvals.Concat(requests).Where(r => r.Status != HttpStatusCode.OK), r => Assert.Equal("already_decided", r.ErrorCode));
        Assert.Equal(size + 2, await LogSizeAsync(admin));
    }

    // ---- item 3: agents speak only for themselves ----

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task An_agent_cannot_record_as_another_agent_or_in_the_server_namespace(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var mallory = new AgentClient(server.Url, "mallory");
        using var victim = new AgentClient(server.Url, "victim");
        (await mallory.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await victim.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        long size = await LogSizeAsync(admin);

        var attempts = new (string Code, Action<JsonObject> Forge)[]
        {
            ("record_agent_mismatch", r => r["agent_id"] = victim.Id),                              // the victim's id, mallory's name
            ("record_agent_mismatch", r => r["agent_name"] = victim.Name),                          // mallory's id, the victim's name
            ("record_agent_mismatch", r => { r["agent_id"] = victim.Id; r["agent_name"] = victim.Name; }),
            ("record_agent_mismatch", r => r["agent_id"] = "local-guid-of-mallory"),
            ("reserved_capability", r => r["capability"] = "aim:api_key.revoked"),
            ("reserved_capability", r => r["capability"] = "AIM:agent.revoke"),
        };
        foreach (var (code, forge) in attempts)
        {
            var record = Record(mallory);
            forge(record);
            var r = await SignedAppendAsync(mallory, record);
            Assert.True(r.Status == HttpStatusCode.Forbidden, $"{record.ToJsonString()}: {(int)r.Status} {r.Text}");
            Assert.Equal(code, r.ErrorCode);
        }

        Assert.Equal(size, await LogSizeAsync(admin));
        (await SignedAppendAsync(mallory, Record(mallory))).Expect(HttpStatusCode.Created);
        Assert.True((await admin.GetAsync("api/v1/audit/verify")).Json["valid"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_damaged_stored_entry_is_listed_not_a_server_error()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "lister");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        var record = Record(agent);
        record["detail"] = new JsonObject { ["nested"] = 5 }; // an agent may attach any JSON under an unknown member
        (await SignedAppendAsync(agent, record)).Expect(HttpStatusCode.Created);
        Assert.Equal(1, await SqlAsync(server, "UPDATE audit_entries SET body = @b WHERE idx = 0", ("@b", "not json"u8.ToArray())));
        var items = (await admin.GetAsync("api/v1/audit/entries")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.Null(items[0]!["entry"]);
        var verdict = (await admin.GetAsync("api/v1/audit/verify")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(AuditReasonCodes.EntryModified, verdict["reason_code"]!.GetValue<string>());
    }

    internal static JsonObject Record(AgentClient agent, string capability = "db:read") => Protocol.AuditRecordJson.ToJson(new AuditRecord
    {
        ActionId = Guid.NewGuid().ToString("N"),
        Kind = AuditEntryKind.Outcome,
        AgentId = agent.Id!,
        AgentName = agent.Name,
        Capability = capability,
        Risk = RiskLevel.Low,
        Decision = "allow",
        Outcome = "success",
    });

    internal static Task<ApiResponse> SignedAppendAsync(AgentClient agent, JsonObject record, Crypto.Ed25519KeyPair? signer = null)
    {
        var sig = (signer ?? agent.Key).Sign(Aim.Json.CanonicalJson.Serialize(record));
        return agent.SendAsync(HttpMethod.Post, "api/v1/audit/records", new JsonObject { ["record"] = record.DeepClone(), ["record_sig"] = Base64Url.EncodeToString(sig) }.ToJsonString());
    }

    // ---- item 5: hostile bodies never reach a 500 ----

    public static TheoryData<string, string> HostileBodies => new()
    {
        { "repeated member", "{\"name\":\"a\",\"name\":\"b\",\"role\":\"auditor\"}" },
        { "repeated nested member", "{\"name\":\"a\",\"role\":\"auditor\",\"x\":{\"k\":1,\"k\":2}}" },
        { "repeated member, other case kept", "{\"capability\":\"db:read\",\"capability\":\"db:write\"}" },
        { "escaped lone high surrogate", "{\"name\":\"\\ud800\",\"role\":\"auditor\"}" },
        { "escaped lone low surrogate in a name", "{\"\\udc00\":\"x\",\"name\":\"a\",\"role\":\"auditor\"}" },
        { "reversed surrogate pair", "{\"name\":\"\\udc00\\ud800\",\"role\":\"auditor\"}" },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task Hostile_json_bodies_are_malformed_json_on_key_and_signed_endpoints(string what, string body)
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "parser");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        var responses = new[]
        {
            await admin.PostAsync("api/v1/api-keys", body),
            await admin.PatchAsync($"api/v1/agents/{agent.Id}", body),
            await agent.SendAsync(HttpMethod.Post, "api/v1/audit/records", body),
            await agent.SendAsync(HttpMethod.Post, "api/v1/capability-requests", body),
            await agent.SendAsync(HttpMethod.Post, "api/v1/verifications", body),
        };
        foreach (var r in responses)
        {
            Assert.True(r.Status == HttpStatusCode.BadRequest, $"{what}: {(int)r.Status} {r.Text}");
            Assert.Equal("malformed_json", r.ErrorCode);
        }
    }

    [Fact]
    public async Task Invalid_utf8_and_raw_lone_surrogates_are_malformed_json()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        using var agent = new AgentClient(server.Url, "bytes");
        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        byte[][] bodies =
        [
            [.. "{\"name\":\""u8, 0xC3, 0x28, .. "\",\"role\":\"auditor\"}"u8],            // bad continuation byte
            [.. "{\"name\":\""u8, 0xED, 0xA0, 0x80, .. "\",\"role\":\"auditor\"}"u8],      // a surrogate encoded as UTF-8 (CESU)
            [.. "{\"name\":\""u8, 0xF8, 0x88, 0x80, 0x80, 0x80, .. "\"}"u8],                // a 5-byte form
            [.. "{\"name\":\"a\",\"role\":\"auditor\"}"u8, 0xFF],                          // garbage after the object
            [0xEF, 0xBB, 0xBF, .. "{\"name\":\""u8, 0xC0, 0xAF, .. "\"}"u8],               // overlong '/'
        ];
        foreach (var body in bodies)
        {
            var viaAgent = await agent.SendAsync(HttpMethod.Post, "api/v1/capability-requests", body);
            Assert.True(viaAgent.Status == HttpStatusCode.BadRequest, $"{Convert.ToHexString(body)}: {(int)viaAgent.Status} {viaAgent.Text}");
            Assert.Equal("malformed_json", viaAgent.ErrorCode);
            using var http = new HttpClient { BaseAddress = server.Url };
            using var message = new HttpRequestMessage(HttpMethod.Post, "api/v1/api-keys") { Content = new ByteArrayContent(body) };
            message.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin.ApiKey);
            var viaKey = await AdminClient.Read(await http.SendAsync(message));
            Assert.True(viaKey.Status == HttpStatusCode.BadRequest, $"{Convert.ToHexString(body)}: {(int)viaKey.Status} {viaKey.Text}");
            Assert.Equal("malformed_json", viaKey.ErrorCode);
        }
    }

    [Theory]
    [InlineData("2026-01-01", "9999-12-31")]
    [InlineData("9999-12-30", "9999-12-31")]
    [InlineData("0001-01-01", "0001-01-02")]
    [InlineData("2026-01-01", "9999-12-31T23:59:59.9999999Z")]
    [InlineData("0001-01-01T00:00:00+14:00", "2026-01-01")]
    [InlineData("1969-12-31", "1970-01-02")]
    public async Task Report_dates_at_the_ends_of_the_calendar_are_invalid_requests(string from, string to)
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        foreach (var format in new[] { "json", "csv" })
        {
            var r = await admin.GetAsync($"api/v1/reports/soc2?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&format={format}");
            Assert.True(r.Status == HttpStatusCode.BadRequest, $"{from}..{to}: {(int)r.Status} {r.Text}");
            Assert.True(r.ErrorCode is "invalid_request" or "invalid_period", r.Text);
        }

        (await admin.GetAsync("api/v1/reports/soc2?from=2026-01-01&to=2026-01-31&format=json")).Expect(HttpStatusCode.OK);
    }

    // ---- item 6: the bootstrap key stays ----

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task The_bootstrap_admin_key_cannot_be_revoked_and_AIM_ADMIN_KEY_restores_a_lost_one(string backend)
    {
        string data = TestDirectories.Create("aim-bootstrap").FullName;
        string bootstrap = "aim_test_boot_" + Guid.NewGuid().ToString("N");
        string? pg = backend == "postgres" ? Tests.Backends.NewPostgresDatabase() : null;
        string bootstrapId;
        await using (var server = await ServerHarness.StartAsync(backend, dataDirectory: data, postgres: pg, adminKey: bootstrap))
        {
            using var root = server.Admin();
            using var otherAdmin = await root.CreateKeyAsync("second-admin", "admin");
            bootstrapId = (await root.GetAsync("api/v1/api-keys")).Json["items"]!.AsArray().Single(k => k!["name"]!.GetValue<string>() == "bootstrap")!["id"]!.GetValue<string>();
            long size = await LogSizeAsync(root);
            foreach (var caller in new[] { root, otherAdmin })
            {
                Assert.Equal("bootstrap_key_protected", (await caller.PostAsync($"api/v1/api-keys/{bootstrapId}/revoke")).Expect(HttpStatusCode.Conflict).ErrorCode);
            }

            Assert.Equal(size, await LogSizeAsync(root));
            (await root.GetAsync("api/v1/api-keys")).Expect(HttpStatusCode.OK);
            (await root.PostAsync("api/v1/orgs", new { name = "still-works" })).Expect(HttpStatusCode.Created);

            // A server before this fix could revoke it: simulate that database.
            Assert.Equal(1, await SqlAsync(server, "UPDATE api_keys SET revoked = 1 WHERE id = @i", ("@i", bootstrapId)));
            Assert.Equal("api_key_invalid", (await root.GetAsync("api/v1/api-keys")).Expect(HttpStatusCode.Unauthorized).ErrorCode);
        }

        // The way back: AIM_ADMIN_KEY at the next start (the same key, or a new one).
        string replacement = "aim_test_new_" + Guid.NewGuid().ToString("N");
        await using (var restarted = await ServerHarness.StartAsync(backend, dataDirectory: data, postgres: pg, adminKey: replacement))
        {
            using var recovered = restarted.Admin();
            (await recovered.GetAsync("api/v1/api-keys")).Expect(HttpStatusCode.OK);
            (await recovered.PostAsync("api/v1/orgs", new { name = "recovered" })).Expect(HttpStatusCode.Created);
        }

        // With an active bootstrap key, AIM_ADMIN_KEY adds nothing.
        string intruder = "aim_test_intruder_" + Guid.NewGuid().ToString("N");
        await using (var again = await ServerHarness.StartAsync(backend, dataDirectory: data, postgres: pg, adminKey: intruder))
        {
            using var nobody = again.Admin();
            Assert.Equal("api_key_invalid", (await nobody.GetAsync("api/v1/api-keys")).Expect(HttpStatusCode.Unauthorized).ErrorCode);
        }
    }

    // ---- item 7: private files ----

    [Fact]
    public async Task Database_key_and_ledger_files_are_private_to_the_server_user()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string parent = TestDirectories.Create("aim-modes").FullName;
        string data = Path.Combine(parent, "data");
        await using (var server = await ServerHarness.StartAsync("sqlite", dataDirectory: data))
        {
            using var admin = server.Admin();
            using var agent = new AgentClient(server.Url, "moder");
            (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
            await LogSizeAsync(admin); // records a head in the ledger
            AssertPrivate(data, "aim.db", "aim.db-wal", "aim.db-shm", "log.key", "audit-heads.jsonl");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
        }

        // An installation made before the fix (0644 files) is narrowed at the next start.
        foreach (var name in new[] { "aim.db", "audit-heads.jsonl" })
        {
            File.SetUnixFileMode(Path.Combine(data, name), (UnixFileMode)0b110_100_100);
        }

        await using (var restarted = await ServerHarness.StartAsync("sqlite", dataDirectory: data))
        {
            AssertPrivate(data, "aim.db", "audit-heads.jsonl");
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void AssertPrivate(string directory, params string[] names)
    {
        foreach (var name in names)
        {
            string path = Path.Combine(directory, name);
            Assert.True(File.Exists(path), $"{name} exists");
            var mode = File.GetUnixFileMode(path);
            Assert.True((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) == 0, $"{name} is {mode}");
        }
    }
}
