using System.Net;
using System.Text.Json;
using Aim.Crypto;
using Aim.Tokens.Chained;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;

namespace Aim.Server.Tests;

/// <summary>
/// The server runs all five steps over its database policy (issue 14): attributes, time windows, rate limits and budgets
/// from the agent's policy document, delegation chains against the organization's trusted roots, and JIT approvals whose
/// reserved cost goes back when denied.
/// </summary>
public sealed class PipelineTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    private static readonly DateTimeOffset Monday10 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Policy_document_drives_steps_2_and_3(string backend)
    {
        var clock = new ManualClock(Monday10);
        await using var server = await ServerHarness.StartAsync(backend, clock);
        using var admin = server.Admin();
        using var agent = await RegisterAsync(server, admin, "policy-agent", clock);
        (await PutPolicyAsync(admin, agent, new
        {
            grants = new[] { "email:send", "db:read@users_*" },
            attributes = new { environment = "prod" },
            timeWindows = new[] { new { days = new[] { "mon", "tue" }, startHour = 9, endHour = 17 } },
            rateLimits = new[] { new { capability = "email:send", limit = 2, per = "00:01:00" } },
        })).Expect(HttpStatusCode.OK);

        Assert.Equal("attribute_mismatch", Code(await VerifyAsync(agent, "email:send")));
        Assert.Equal("attribute", Step(await VerifyAsync(agent, "email:send")));
        var prod = new Dictionary<string, string> { ["environment"] = "prod" };
        Assert.Equal("approved", Status(await VerifyAsync(agent, "email:send", attributes: prod)));
        Assert.Equal("resource_not_granted", Code(await VerifyAsync(agent, "db:read", resource: "orders", attributes: prod)));
        Assert.Equal("approved", Status(await VerifyAsync(agent, "db:read", resource: "users_eu", attributes: prod)));
        Assert.Equal("approved", Status(await VerifyAsync(agent, "email:send", attributes: prod)));
        var limited = await VerifyAsync(agent, "email:send", attributes: prod);
        Assert.Equal("rate_limited", Code(limited));
        Assert.Equal("context", Step(limited));

        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("approved", Status(await VerifyAsync(agent, "email:send", attributes: prod)));
        clock.Advance(TimeSpan.FromHours(8)); // 18:01, outside the window
        Assert.Equal("outside_time_window", Code(await VerifyAsync(agent, "email:send", attributes: prod)));
    }

    /// <summary>
    /// Step 3's sliding windows on the server keep a count per rule beside the events (so a decision does not count the
    /// window): overlapping rules, calls spread over several window lengths, and a counter lost out of band must all give
    /// exactly the decisions of a window counted call by call.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Rate_limit_counts_stay_exact_as_windows_slide_and_a_lost_counter_is_recounted(string backend)
    {
        var clock = new ManualClock(Monday10);
        await using var server = await ServerHarness.StartAsync(backend, clock);
        using var admin = server.Admin();
        using var agent = await RegisterAsync(server, admin, "window-agent", clock);
        (await PutPolicyAsync(admin, agent, new
        {
            grants = new[] { "email:send", "email:read" },
            rateLimits = new object[]
            {
                new { capability = "email:send", limit = 3, per = "00:01:00" },
                new { capability = "email:*", limit = 5, per = "00:02:00" },
            },
        })).Expect(HttpStatusCode.OK);

        // The expected decisions, computed the slow way: every allowed call's time per rule, windows (now - per, now].
        var sends = new List<DateTimeOffset>();
        var all = new List<DateTimeOffset>();
        bool Expected(string capability, DateTimeOffset now)
        {
            bool fits = all.Count(t => t > now - TimeSpan.FromMinutes(2)) < 5
                && (capability != "email:send" || sends.Count(t => t > now - TimeSpan.FromMinutes(1)) < 3);
            if (fits)
            {
                all.Add(now);
                if (capability == "email:send")
                {
                    sends.Add(now);
                }
            }

            return fits;
        }

        int allowed = 0, denied = 0;
        for (int i = 0; i < 40; i++)
        {
            if (i == 20)
            {
                // Counters lost (e.g. restored from a backup without them): the next decision counts the rows again.
                await using var db = await OpenAsync(server);
                await using var wipe = db.CreateCommand();
                wipe.CommandText = "DELETE FROM rate_counts";
                Assert.Equal(2, await wipe.ExecuteNonQueryAsync());
            }

            string capability = i % 3 == 0 ? "email:read" : "email:send";
            var response = await VerifyAsync(agent, capability);
            bool expected = Expected(capability, clock.GetUtcNow());
            Assert.True(expected == (Status(response) == "approved"), $"call {i} ({capability} at +{(clock.GetUtcNow() - Monday10).TotalSeconds} s): expected {(expected ? "approved" : "rate_limited")}, got {Status(response)} {Code(response)}");
            if (!expected)
            {
                Assert.Equal("rate_limited", Code(response));
            }

            _ = expected ? allowed++ : denied++;
            clock.Advance(TimeSpan.FromSeconds(7 + (i % 4) * 5));
        }

        Assert.True(allowed > 10 && denied > 5, $"the run exercised both outcomes ({allowed} allowed, {denied} denied)");

        // The counters equal the rows they stand for.
        await using (var db = await OpenAsync(server))
        {
            await using var check = db.CreateCommand();
            check.CommandText = "SELECT COUNT(*) FROM rate_counts c WHERE c.events <> (SELECT COUNT(*) FROM rate_events e WHERE e.agent_id = c.agent_id AND e.rule = c.rule)";
            Assert.Equal(0L, Convert.ToInt64(await check.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private static async Task<System.Data.Common.DbConnection> OpenAsync(ServerHarness server)
    {
        System.Data.Common.DbConnection db = server.Postgres is null
            ? new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "aim.db")};Pooling=False")
            : new Npgsql.NpgsqlConnection(server.Postgres);
        await db.OpenAsync();
        return db;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Invalid_policy_is_refused_and_nothing_changes(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = await RegisterAsync(server, admin, "strict-agent", null);
        (await PutPolicyAsync(admin, agent, new { grants = new[] { "email:send" } })).Expect(HttpStatusCode.OK);
        foreach (var hostile in new object[]
        {
            new { rateLimits = new[] { new { capability = "email:send", limit = 0, per = "00:01:00" } } },
            new { budget = new { limitUsd = -1 } },
            new { unknownMember = true },
            new { grants = new[] { "not a grant" } },
            "[1,2]",
            "{\"budget\":{\"limitUsd\":1}} trailing",
        })
        {
            var r = await PutPolicyAsync(admin, agent, hostile);
            Assert.True(r.Status == HttpStatusCode.BadRequest, r.Text);
            Assert.Contains(r.ErrorCode, new[] { "invalid_policy", "malformed_json", "invalid_request" });
        }

        var stored = (await admin.GetAsync($"api/v1/agents/{agent.Id}/policy")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(["email:send"], stored["grants"]!.AsArray().Select(g => g!.GetValue<string>()));
        Assert.Null(stored["policy"]);
        Assert.Equal("approved", Status(await VerifyAsync(agent, "email:send")));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Delegated_calls_are_verified_against_trusted_roots(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        using var agent = await RegisterAsync(server, admin, "delegate-agent", null);
        (await PutPolicyAsync(admin, agent, new { grants = new[] { "db:read", "email:send" } })).Expect(HttpStatusCode.OK);
        using var root = Ed25519KeyPair.Generate();
        string rootId = AipIdentifier.ForKey(root.PublicKey);
        var now = DateTimeOffset.UtcNow;
        string token = ChainedToken.Create(root, new AipAuthority(rootId, ["db:read"], 2, now.AddMinutes(30)));
        token = ChainedToken.Delegate(token, root, new AipDelegation(agent.KeyId, ["db:read"], "read orders for ticket 42"));

        // No trusted root: nothing can vouch for the chain.
        var unverifiable = await VerifyAsync(agent, "db:read", token: token);
        Assert.Equal("chain_unverifiable", Code(unverifiable));
        Assert.Equal("chain", Step(unverifiable));

        (await admin.PostAsync("api/v1/trusted-roots", new { identifier = rootId, label = "orchestrator" })).Expect(HttpStatusCode.Created);
        Assert.Equal("approved", Status(await VerifyAsync(agent, "db:read", token: token)));
        Assert.Equal("aip_scope_insufficient", Code(await VerifyAsync(agent, "email:send", token: token)));

        // A compact token for another subject, and an expired one.
        using var stranger = Ed25519KeyPair.Generate();
        string other = CompactToken.Create(root, new AipTokenClaims(rootId, AipIdentifier.ForKey(stranger.PublicKey), ["db:read"], null, 0, now, now.AddMinutes(5)));
        Assert.StartsWith("aip_", Code(await VerifyAsync(agent, "db:read", token: other)));
        string expired = CompactToken.Create(root, new AipTokenClaims(rootId, agent.KeyId, ["db:read"], null, 0, now.AddHours(-2), now.AddHours(-1)));
        Assert.Equal("aip_token_expired", Code(await VerifyAsync(agent, "db:read", token: expired)));
        Assert.Equal("aip_token_malformed", Code(await VerifyAsync(agent, "db:read", token: "not.a.token")));

        // Removing the root takes effect with the next request.
        var roots = (await admin.GetAsync("api/v1/trusted-roots")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        (await admin.DeleteAsync($"api/v1/trusted-roots/{roots[0]!["id"]!.GetValue<string>()}")).Expect(HttpStatusCode.OK);
        Assert.Equal("chain_unverifiable", Code(await VerifyAsync(agent, "db:read", token: token)));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Trusted_roots_refuse_bad_identifiers(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        Assert.Equal("invalid_identifier", (await admin.PostAsync("api/v1/trusted-roots", new { identifier = "did:web:example.com" })).ErrorCode);
        Assert.Equal("invalid_public_key", (await admin.PostAsync("api/v1/trusted-roots", new { identifier = "aip:web:example.com/agents/root" })).ErrorCode);
        using var key = Ed25519KeyPair.Generate();
        using var otherKey = Ed25519KeyPair.Generate();
        string id = AipIdentifier.ForKey(key.PublicKey);
        Assert.Equal("invalid_identifier", (await admin.PostAsync("api/v1/trusted-roots", new { identifier = id, public_key = System.Buffers.Text.Base64Url.EncodeToString(otherKey.PublicKey) })).ErrorCode);
        (await admin.PostAsync("api/v1/trusted-roots", new { identifier = id })).Expect(HttpStatusCode.Created);
        Assert.Equal("root_exists", (await admin.PostAsync("api/v1/trusted-roots", new { identifier = id })).ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("api/v1/trusted-roots/nope")).Status);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Budget_reserved_for_a_pending_approval_goes_back_when_denied(string backend)
    {
        var clock = new ManualClock(Monday10);
        await using var server = await ServerHarness.StartAsync(backend, clock);
        using var admin = server.Admin();
        using var agent = await RegisterAsync(server, admin, "budget-agent", clock);
        (await PutPolicyAsync(admin, agent, new { grants = new[] { "web:search" }, budget = new { limitUsd = 1.0m, per = "1.00:00:00" } })).Expect(HttpStatusCode.OK);

        var first = await VerifyAsync(agent, "web:search", cost: 0.6m);
        Assert.Equal("approved", Status(first));
        Assert.Equal(0.6m, first.Json["details"]!["spent_usd"]!.GetValue<decimal>());

        var pending = await VerifyAsync(agent, "web:search", cost: 0.4m, jit: true);
        Assert.Equal("pending", Status(pending));
        Assert.Equal("approval", Step(pending));
        Assert.Equal("budget_exceeded", Code(await VerifyAsync(agent, "web:search", cost: 0.4m)));

        string id = pending.Json["id"]!.GetValue<string>();
        (await admin.PostAsync($"api/v1/approvals/{id}/deny", new { reason = "not now" })).Expect(HttpStatusCode.OK);
        Assert.Equal("approved", Status(await VerifyAsync(agent, "web:search", cost: 0.4m)));
        Assert.Equal("budget_exceeded", Code(await VerifyAsync(agent, "web:search", cost: 0.01m)));

        // The next day starts from zero; an expired approval gives its reservation back too.
        clock.Advance(TimeSpan.FromDays(1));
        var waiting = await VerifyAsync(agent, "web:search", cost: 0.9m, jit: true, timeoutSeconds: 60);
        Assert.Equal("pending", Status(waiting));
        Assert.Equal("budget_exceeded", Code(await VerifyAsync(agent, "web:search", cost: 0.2m)));
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("approved", Status(await VerifyAsync(agent, "web:search", cost: 0.2m)));
    }

    [Fact]
    public async Task Two_replicas_on_one_postgres_enforce_one_rate_limit_and_one_budget()
    {
        if (Tests.Backends.PostgresConnectionString is null)
        {
            Assert.Fail("AIM_TEST_POSTGRES is not set: scripts/test.sh starts PostgreSQL for this test.");
        }

        string database = Tests.Backends.NewPostgresDatabase();
        string data = TestDirectories.Create("aim-replicas").FullName;
        await using var a = await ServerHarness.StartAsync("postgres", postgres: database, dataDirectory: data);
        await using var b = await ServerHarness.StartAsync("postgres", postgres: database, dataDirectory: data);
        using var admin = a.Admin();
        using var agentA = await RegisterAsync(a, admin, "replicated-agent", null);
        using var agentB = new AgentClient(b.Url, "replicated-agent", agentA.Key);
        (await PutPolicyAsync(admin, agentA, new
        {
            grants = new[] { "email:send", "web:search" },
            rateLimits = new[] { new { capability = "email:send", limit = 25, per = "01:00:00" } },
            budget = new { limitUsd = 3.0m },
        })).Expect(HttpStatusCode.OK);

        // 8 concurrent clients, half on each replica, 80 calls of each action: exactly the limit gets through.
        var calls = Enumerable.Range(0, 80).Select(i => (i % 2 == 0 ? agentA : agentB, i)).ToList();
        var sends = await RunConcurrentlyAsync(calls, 8, c => VerifyAsync(c.Item1, "email:send"));
        var spends = await RunConcurrentlyAsync(calls, 8, c => VerifyAsync(c.Item1, "web:search", cost: 0.1m));
        Assert.Equal(25, sends.Count(r => Status(r) == "approved"));
        Assert.All(sends.Where(r => Status(r) != "approved"), r => Assert.Equal("rate_limited", Code(r)));
        Assert.Equal(30, spends.Count(r => Status(r) == "approved"));
        Assert.All(spends.Where(r => Status(r) != "approved"), r => Assert.Equal("budget_exceeded", Code(r)));
        Assert.True(sends.Where((r, i) => i % 2 == 0).Any(r => Status(r) == "approved") && sends.Where((r, i) => i % 2 == 1).Any(r => Status(r) == "approved"),
            "both replicas allowed some calls");
    }

    internal static async Task<List<ApiResponse>> RunConcurrentlyAsync<T>(IReadOnlyList<T> items, int clients, Func<T, Task<ApiResponse>> call)
    {
        var results = new ApiResponse[items.Count];
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < items.Count;)
            {
                results[i] = await call(items[i]);
            }
        })));
        return [.. results];
    }

    internal static async Task<AgentClient> RegisterAsync(ServerHarness server, AdminClient admin, string name, ManualClock? clock)
    {
        var agent = new AgentClient(server.Url, name);
        if (clock is not null)
        {
            agent.Clock = () => clock.GetUtcNow().ToUnixTimeSeconds();
        }

        (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
        return agent;
    }

    internal static Task<ApiResponse> PutPolicyAsync(AdminClient admin, AgentClient agent, object policy) =>
        admin.SendAsync(HttpMethod.Put, $"api/v1/agents/{agent.Id}/policy", policy);

    internal static Task<ApiResponse> VerifyAsync(AgentClient agent, string capability, string? resource = null, IReadOnlyDictionary<string, string>? attributes = null,
        string? token = null, decimal? cost = null, bool jit = false, double timeoutSeconds = 300)
    {
        var body = new Dictionary<string, object?>
        {
            ["action_id"] = Guid.NewGuid().ToString("N"),
            ["capability"] = capability,
            ["jit"] = jit,
            ["jit_timeout_seconds"] = timeoutSeconds,
        };
        if (resource is not null)
        {
            body["resource"] = resource;
        }

        if (attributes is not null)
        {
            body["attributes"] = attributes;
        }

        if (token is not null)
        {
            body["delegation_token"] = token;
        }

        if (cost is not null)
        {
            body["cost_usd"] = cost;
        }

        return agent.SendAsync(HttpMethod.Post, "api/v1/verifications", JsonSerializer.Serialize(body));
    }

    internal static string? Status(ApiResponse r) => r.Expect(HttpStatusCode.Created).Json["status"]?.GetValue<string>();

    internal static string? Code(ApiResponse r) => r.Expect(HttpStatusCode.Created).Json["reason_code"]?.GetValue<string>();

    internal static string? Step(ApiResponse r) => r.Expect(HttpStatusCode.Created).Json["step"]?.GetValue<string>();
}
