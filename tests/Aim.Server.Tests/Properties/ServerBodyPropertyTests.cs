using System.Net;
using System.Text;
using System.Text.Json;
using Aim.Tests.Properties;
using CsCheck;
using Xunit.Abstractions;

namespace Aim.Server.Tests.Properties;

/// <summary>
/// The server's JSON bodies end to end: generated documents (members from the API's own vocabulary with hostile values:
/// unpaired surrogates, NUL, huge numbers, deep nesting, repeated members), edits of real bodies and random bytes go to
/// every endpoint that reads a JSON body, signed by a registered agent or sent with an admin key. Every answer is below
/// 500 and every refusal carries a stable error code.
/// </summary>
[Trait("Category", "Property")]
public sealed class ServerBodyPropertyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private AdminClient _admin = null!;
    private AgentClient _agent = null!;
    private string _verification = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync("sqlite");
        _admin = _server.Admin();
        _agent = new AgentClient(_server.Url, "fuzzed");
        (await _agent.RegisterAsync(_admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await _admin.PostAsync($"api/v1/agents/{_agent.Id}/grants", new { capabilities = new[] { "db:read", "payment:*" } })).Expect(HttpStatusCode.OK);
        _verification = (await _agent.VerifyAsync("payment:refund", jit: true)).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
    }

    public async Task DisposeAsync()
    {
        _agent.Dispose();
        _admin.Dispose();
        await _server.DisposeAsync();
    }

    private static readonly string[] Members =
    [
        "name", "role", "capability", "capabilities", "record", "record_sig", "action_id", "reason", "outcome", "rating", "description", "isolation", "url",
        "public_key", "signature", "new_aip_id", "proof", "overlap_seconds", "jit", "jit_timeout_seconds", "risk", "resource", "method", "delegation_token",
        "comment", "aip_id", "kind", "agent_id", "agent_name", "decision", "details", "arguments", "duration_ms", "x",
    ];

    private static readonly byte[][] RealBodies =
    [
        "{\"name\":\"k\",\"role\":\"auditor\"}"u8.ToArray(),
        "{\"action_id\":\"a\",\"capability\":\"db:read\",\"jit\":true,\"jit_timeout_seconds\":30,\"risk\":\"high\",\"resource\":\"users\"}"u8.ToArray(),
        "{\"record\":{\"action_id\":\"a\",\"kind\":\"outcome\",\"agent_id\":\"x\",\"agent_name\":\"fuzzed\",\"capability\":\"db:read\",\"risk\":\"low\",\"decision\":\"allow\"},\"record_sig\":\"AAAA\"}"u8.ToArray(),
        "{\"capabilities\":[\"db:read\",\"email:send\"]}"u8.ToArray(),
        "{\"name\":\"m\",\"url\":\"https://m.example\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}"u8.ToArray(),
    ];

    private static Gen<byte[]> Bodies()
    {
        var scalar = Gen.OneOf(
            Gen.OneOf<string>("null", "true", "false", "0", "-1", "1e400", "-1e400", "-0", "1.5", "9007199254740993", "1e-400", "\"\"", "\"db:read\"", "\"admin\"",
                "\"critical\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"a\\u0000b\"", "\"aim:api_key.revoked\"", "\"success\"", "\"https://x.example\"", "\"\\r\\n\"",
                "\"" + new string('a', 3000) + "\"", "\"AAAA\"", "\"aip:key:ed25519:z1\""),
            Gen.String[0, 40].Select(s => JsonSerializer.Serialize(s)),
            Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "0"));
        var names = Gen.OneOf(Gen.OneOf(Members), Gen.String[0, 12]).Select(n => JsonSerializer.Serialize(n));
        var json = Gen.Recursive<string>((depth, self) => depth > 5
            ? scalar
            : Gen.Frequency(
                (4, scalar),
                (1, self.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
                (2, Gen.Select(names, self).Array[0, 6].Select(members => "{" + string.Join(",", members.Select(m => m.Item1 + ":" + m.Item2)) + "}"))));
        var objects = Gen.Select(names, json).Array[0, 8].Select(members => "{" + string.Join(",", members.Select(m => m.Item1 + ":" + m.Item2)) + "}");
        return Gen.Frequency(
            (6, objects.Select(Encoding.UTF8.GetBytes)),
            (3, Gen.Int[0, RealBodies.Length - 1].SelectMany(i => Mutations.Of(RealBodies[i]))),
            (1, Gen.Byte.Array[0, 200]),
            (1, Gen.Int[1, 200].Select(n => Encoding.UTF8.GetBytes(new string('[', n) + new string(']', n)))));
    }

    private IReadOnlyList<(string What, Func<byte[], Task<ApiResponse>> Send)> Endpoints() =>
    [
        ("POST api-keys", b => _admin.SendAsync(HttpMethod.Post, "api/v1/api-keys", Encoding.UTF8.GetString(b))),
        ("POST orgs", b => _admin.SendAsync(HttpMethod.Post, "api/v1/orgs", Encoding.UTF8.GetString(b))),
        ("PATCH agent", b => _admin.SendAsync(HttpMethod.Patch, $"api/v1/agents/{_agent.Id}", Encoding.UTF8.GetString(b))),
        ("POST grants", b => _admin.SendAsync(HttpMethod.Post, $"api/v1/agents/{_agent.Id}/grants", Encoding.UTF8.GetString(b))),
        ("POST feedback", b => _admin.SendAsync(HttpMethod.Post, $"api/v1/agents/{_agent.Id}/feedback", Encoding.UTF8.GetString(b))),
        ("POST mcp-servers", b => _admin.SendAsync(HttpMethod.Post, "api/v1/mcp-servers", Encoding.UTF8.GetString(b))),
        ("POST approval deny", b => _admin.SendAsync(HttpMethod.Post, "api/v1/approvals/unknown/deny", Encoding.UTF8.GetString(b))),
        ("POST request approve", b => _admin.SendAsync(HttpMethod.Post, "api/v1/capability-requests/unknown/approve", Encoding.UTF8.GetString(b))),
        ("POST verifications", b => _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", b)),
        ("POST audit records", b => _agent.SendAsync(HttpMethod.Post, "api/v1/audit/records", b)),
        ("POST capability-requests", b => _agent.SendAsync(HttpMethod.Post, "api/v1/capability-requests", b)),
        ("POST result", b => _agent.SendAsync(HttpMethod.Post, $"api/v1/verifications/{_verification}/result", b)),
        ("POST rotate", b => _agent.SendAsync(HttpMethod.Post, $"api/v1/agents/{_agent.Id}/keys/rotate", b)),
        ("POST agents", b => _agent.SendAsync(HttpMethod.Post, "api/v1/agents", b, apiKey: _admin.ApiKey)),
    ];

    [Fact]
    public async Task No_body_on_any_json_endpoint_gets_a_server_error()
    {
        var endpoints = Endpoints();
        long requests = 0;
        await Gen.Select(Gen.Int[0, endpoints.Count - 1], Bodies()).SampleAsync(async (e, body) =>
        {
            var (what, send) = endpoints[e];
            var r = await send(body);
            Interlocked.Increment(ref requests);
            Assert.True((int)r.Status < 500, $"{what} answered {(int)r.Status} {r.Text} to {Convert.ToHexString(body)}");
            if ((int)r.Status >= 400)
            {
                Assert.False(string.IsNullOrEmpty(r.ErrorCode), $"{what}: {(int)r.Status} without an error code: {r.Text}");
            }
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(2000), threads: PropertyRun.Threads);
        output.WriteLine($"{requests} requests, none answered 500.");
    }
}
