using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Tests.Properties;
using CsCheck;
using Xunit.Abstractions;

namespace Aim.Server.Tests.Compat;

/// <summary>
/// The AIM routes end to end under hostile input: generated documents in AIM's vocabulary, edits of the bodies AIM's real
/// SDK sent (the recording), random bytes, each correctly signed by a registered AIM agent so it reaches the body readers;
/// and edits of the four signature headers. Every answer is below 500 and every refusal carries a stable error code.
/// </summary>
[Trait("Category", "Property")]
public sealed class AimCompatPropertyTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private AdminClient _admin = null!;
    private AimSdkClient _agent = null!;
    private string _verification = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync("sqlite");
        _admin = _server.Admin();
        (await _admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        var (agent, r) = await AimSdkClient.RegisterAsync(_server.Url, _admin.ApiKey, "fuzzed-aim");
        _agent = agent ?? throw new InvalidOperationException(r.Text);
        (await _admin.PostAsync($"api/v1/agents/{_agent.AgentId.Replace("-", string.Empty, StringComparison.Ordinal)}/grants", new { capabilities = new[] { "database:read" } })).Expect(HttpStatusCode.OK);
        _verification = (await _agent.VerifyAsync("read_database")).Expect(HttpStatusCode.Created).Json["id"]!.GetValue<string>();
    }

    public async Task DisposeAsync()
    {
        _agent.Dispose();
        _admin.Dispose();
        await _server.DisposeAsync();
    }

    private static readonly string[] Members =
    [
        "agent_id", "action_type", "resource", "context", "timestamp", "signature", "public_key", "risk_level", "result", "result_summary", "error_message",
        "capability_type", "reason", "capabilityType", "scope", "mcp_server_ids", "detected_method", "confidence", "metadata", "detections", "mcpServer",
        "detectionMethod", "sdkVersion", "details", "name", "display_name", "description", "agent_type", "version", "capabilities", "talks_to", "jit_access",
        "jit_timeout_seconds", "x",
    ];

    private Gen<byte[]> Bodies()
    {
        var real = AimSdkReplayTests.Recording().Where(e => e.Body.Length > 0).Select(e => Encoding.UTF8.GetBytes(e.Body))
            .Append(Encoding.UTF8.GetBytes(_agent.VerificationBody("read_database", "users_table", new JsonObject { ["jit_access"] = true, ["env"] = "prod" }))).ToArray();
        var scalar = Gen.OneOf(
            Gen.OneOf<string>("null", "true", "false", "0", "-1", "1e400", "-0", "1.5", "9007199254740993", "\"\"", "\"read_database\"", "\"aim:x\"", "\"success\"",
                "\"failure\"", "\"critical\"", "\"\\ud800\"", "\"a\\u0000b\"", "\"" + new string('a', 3000) + "\"", "\"sdk_integration\"", "\"aim-sdk-python@1.0.0\"",
                JsonSerializer.Serialize(_agent.AgentId), JsonSerializer.Serialize(_agent.PublicKey)),
            Gen.String[0, 40].Select(s => JsonSerializer.Serialize(s)),
            Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var names = Gen.OneOf(Gen.OneOf(Members), Gen.String[0, 12]).Select(n => JsonSerializer.Serialize(n));
        var json = Gen.Recursive<string>((depth, self) => depth > 5
            ? scalar
            : Gen.Frequency(
                (4, scalar),
                (1, self.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
                (2, Gen.Select(names, self).Array[0, 6].Select(members => "{" + string.Join(",", members.Select(m => m.Item1 + ":" + m.Item2)) + "}"))));
        var objects = Gen.Select(names, json).Array[0, 8].Select(members => "{" + string.Join(",", members.Select(m => m.Item1 + ":" + m.Item2)) + "}");
        return Gen.Frequency(
            (5, objects.Select(Encoding.UTF8.GetBytes)),
            (4, Gen.Int[0, real.Length - 1].SelectMany(i => Mutations.Of(real[i]))),
            (1, Gen.Byte.Array[0, 200]));
    }

    private IReadOnlyList<(string What, Func<byte[], Task<ApiResponse>> Send)> Endpoints()
    {
        string agent = _agent.AgentId;
        return
        [
            ("POST verifications", b => _agent.SendBytesAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", b)),
            ("POST result", b => _agent.SendBytesAsync(HttpMethod.Post, $"/api/v1/sdk-api/verifications/{_verification}/result", b)),
            ("POST capability-requests", b => _agent.SendBytesAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{agent}/capability-requests", b)),
            ("POST capabilities", b => _agent.SendBytesAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{agent}/capabilities", b)),
            ("POST mcp-servers", b => _agent.SendBytesAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{agent}/mcp-servers", b)),
            ("POST detection", b => _agent.SendBytesAsync(HttpMethod.Post, $"/api/v1/detection/agents/{agent}/report", b)),
            ("POST sdk detection", b => _agent.SendBytesAsync(HttpMethod.Post, $"/api/v1/sdk-api/agents/{agent}/detection/report", b)),
            ("POST register", b => _agent.SendBytesAsync(HttpMethod.Post, "/api/v1/public/agents/register", b, new Dictionary<string, string> { ["X-AIM-API-Key"] = _admin.ApiKey })),
            ("PUT compat", b => _admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", Encoding.UTF8.GetString(b))),
        ];
    }

    private static void Check(string what, ApiResponse r, string input)
    {
        Assert.True((int)r.Status < 500, $"{what} answered {(int)r.Status} {r.Text} to {input}");
        if ((int)r.Status >= 400)
        {
            Assert.False(string.IsNullOrEmpty(r.ErrorCode), $"{what}: {(int)r.Status} without an error code: {r.Text}");
        }
    }

    [Fact]
    public async Task No_body_on_any_aim_route_gets_a_server_error()
    {
        var endpoints = Endpoints();
        long requests = 0;
        await Gen.Select(Gen.Int[0, endpoints.Count - 1], Bodies()).SampleAsync(async (e, body) =>
        {
            var (what, send) = endpoints[e];
            var r = await send(body);
            Interlocked.Increment(ref requests);
            Check(what, r, Convert.ToHexString(body));
            if (what == "PUT compat" && r.Status != HttpStatusCode.OK)
            {
                return;
            }

            // Keep the switch on for the next sample (a fuzzed PUT may have turned it off).
            (await _admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(1500), threads: 1);
        output.WriteLine($"{requests} requests, none answered 500.");
    }

    [Fact]
    public async Task No_edit_of_the_signature_headers_gets_a_server_error_or_a_decision_for_another_request()
    {
        string body = _agent.VerificationBody("read_database");
        var headers = Gen.OneOf<string>("X-Agent-ID", "X-Signature", "X-Timestamp", "X-Public-Key");
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var original = new Dictionary<string, string>
        {
            ["X-Agent-ID"] = _agent.AgentId, ["X-Signature"] = Convert.ToBase64String(new byte[64]),
            ["X-Timestamp"] = now.ToString(System.Globalization.CultureInfo.InvariantCulture), ["X-Public-Key"] = _agent.PublicKey,
        };
        long requests = 0, accepted = 0;
        await headers.SelectMany(h => Mutations.Of(original[h]).Where(v => v != original[h] && v.All(c => c is >= ' ' and <= '~')).Select(v => (h, v)))
            .SampleAsync(async pair =>
            {
                // Every other header is the real signer's; only the edited one differs (an edited signature or timestamp replaces the real one).
                var r = await _agent.SendBytesAsync(HttpMethod.Post, "/api/v1/sdk-api/verifications", Encoding.UTF8.GetBytes(body), new Dictionary<string, string> { [pair.h] = pair.v });
                Interlocked.Increment(ref requests);
                Check(pair.h, r, pair.v);
                if ((int)r.Status < 400)
                {
                    // Only an edit that names the same agent, key or time (the UUID in upper case, base64 with spaces, the second the request
                    // was signed in) may still be the signer's request.
                    Interlocked.Increment(ref accepted);
                    Assert.True(pair.h switch
                    {
                        "X-Agent-ID" => Server.Compat.AimIds.ToServerId(pair.v.Trim()) == Server.Compat.AimIds.ToServerId(_agent.AgentId),
                        "X-Public-Key" => SameBytes(pair.v, _agent.PublicKey),
                        "X-Timestamp" => pair.v.Trim() == _agent.LastTimestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        _ => false,
                    }, $"{pair.h}: '{pair.v}' was accepted: {r.Text}");
                }
            }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(1000), threads: 1);
        output.WriteLine($"{requests} requests, none answered 500; {accepted} edits that named the same agent or key were accepted.");
    }

    private static bool SameBytes(string base64, string expected)
    {
        var buffer = new byte[64];
        return Convert.TryFromBase64String(base64, buffer, out int n) && Convert.ToBase64String(buffer, 0, n) == expected;
    }
}
