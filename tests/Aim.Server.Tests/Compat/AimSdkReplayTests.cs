using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Server.Compat;
using Microsoft.Extensions.DependencyInjection;

namespace Aim.Server.Tests.Compat;

/// <summary>
/// The requests AIM's unmodified Python SDK 1.0.0 made against this server (aim-python-sdk-1.0.0.jsonl, recorded by
/// record_aim_sdk.py during run_aim_sdk_session.sh: registration, an allowed, a denied and a JIT verification with their
/// polls and results, a capability request, an MCP registration, MCP and SDK-integration reports, a capability report),
/// replayed byte for byte with the agent's new id and key substituted and every signature that covers time made again
/// with the key the replay's registration returned. The answers must carry what the SDK reads.
/// </summary>
public sealed class AimSdkReplayTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    internal sealed record Exchange(string Method, string Path, Dictionary<string, string> Headers, string Body, int Status, JsonNode? Response);

    internal static List<Exchange> Recording()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Compat", "aim-python-sdk-1.0.0.jsonl");
        return File.ReadAllLines(path).Where(l => l.Length > 0).Select(l =>
        {
            var o = JsonNode.Parse(l)!;
            string response = o["response"]!.GetValue<string>();
            return new Exchange(o["method"]!.GetValue<string>(), o["path"]!.GetValue<string>(),
                o["headers"]!.AsObject().ToDictionary(h => h.Key, h => h.Value!.GetValue<string>(), StringComparer.OrdinalIgnoreCase),
                o["body"]!.GetValue<string>(), o["status"]!.GetValue<int>(), response.Length == 0 ? null : JsonNode.Parse(response));
        }).ToList();
    }

    [Fact]
    public void The_recording_covers_every_supported_route_and_its_signatures_are_what_this_server_checks()
    {
        var recording = Recording();
        var routes = recording.Select(e => $"{e.Method} {Shape(e.Path)}").ToHashSet(StringComparer.Ordinal);
        Assert.Superset(routes, new HashSet<string>(StringComparer.Ordinal)
        {
            "POST /api/v1/public/agents/register", "POST /api/v1/sdk-api/verifications", "GET /api/v1/sdk-api/verifications/{id}",
            "POST /api/v1/sdk-api/verifications/{id}/result", "POST /api/v1/sdk-api/agents/{id}/capability-requests", "POST /api/v1/sdk-api/agents/{id}/mcp-servers",
            "POST /api/v1/detection/agents/{id}/report", "POST /api/v1/sdk-api/agents/{id}/detection/report", "POST /api/v1/sdk-api/agents/{id}/capabilities",
        });

        int headerSignatures = 0, bodySignatures = 0;
        foreach (var e in recording.Where(e => e.Headers.ContainsKey("X-Signature")))
        {
            // What the real SDK signed is exactly METHOD\nPATH\nTIMESTAMP[\nBODY] over the bytes it sent.
            var publicKey = Convert.FromBase64String(e.Headers["X-Public-Key"]);
            var message = AimSdkClient.Message(e.Method, e.Path, long.Parse(e.Headers["X-Timestamp"], System.Globalization.CultureInfo.InvariantCulture), e.Body);
            Assert.True(Ed25519.Verify(publicKey, message, Convert.FromBase64String(e.Headers["X-Signature"])), $"{e.Method} {e.Path}: header signature");
            Assert.Equal(AimRequestAuth.Message(e.Method, e.Path, e.Headers["X-Timestamp"], Encoding.UTF8.GetBytes(e.Body)), message);
            headerSignatures++;
            if (e.Path == "/api/v1/sdk-api/verifications")
            {
                // The body's own signature: Python's json.dumps(sort_keys=True) of five members, which the server reads from the body's text.
                var body = JsonNode.Parse(e.Body)!.AsObject();
                string payload = PythonJson.Dumps(new JsonObject
                {
                    ["action_type"] = body["action_type"]!.DeepClone(), ["agent_id"] = body["agent_id"]!.DeepClone(), ["context"] = body["context"]!.DeepClone(),
                    ["resource"] = body["resource"]?.DeepClone(), ["timestamp"] = body["timestamp"]!.DeepClone(),
                });
                Assert.Equal(payload, Encoding.UTF8.GetString(AimVerifications.SignedPayload(Encoding.UTF8.GetBytes(e.Body))));
                Assert.True(Ed25519.Verify(publicKey, Encoding.UTF8.GetBytes(payload), Convert.FromBase64String(body["signature"]!.GetValue<string>())), "body signature");
                // The SDK sends the body as json.dumps(sort_keys=True) wrote it.
                Assert.Equal(PythonJson.Dumps(body), e.Body);
                bodySignatures++;
            }
        }

        Assert.Equal(recording.Count - 1, headerSignatures);
        Assert.Equal(3, bodySignatures);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Replayed_sdk_session_gets_every_answer_the_sdk_needs(string backend)
    {
        var recording = Recording();
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        (await admin.SendAsync(HttpMethod.Put, "api/v1/orgs/default/compat", new { enabled = true, server_keys = true })).Expect(HttpStatusCode.OK);

        // Registration, as recorded (the API key is this server's).
        var registration = recording[0];
        Assert.Equal("/api/v1/public/agents/register", registration.Path);
        var headers = new Dictionary<string, string>(registration.Headers, StringComparer.OrdinalIgnoreCase) { ["X-AIM-API-Key"] = server.AdminKey };
        headers.Remove("Content-Type");
        using var raw = new AimSdkClient(server.Url, string.Empty, Ed25519KeyPair.Generate());
        var registered = (await raw.SendRawAsync(HttpMethod.Post, registration.Path, registration.Body, headers)).Expect((HttpStatusCode)registration.Status);
        // What _register_via_api_key and _save_credentials read: agent_id, public_key, private_key, aim_url, name, status, trust_score.
        foreach (var field in new[] { "agent_id", "public_key", "private_key", "aim_url", "name", "status", "trust_score" })
        {
            Assert.NotNull(registered.Json[field]);
        }

        string agentId = registered.Json["agent_id"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", agentId);
        using var key = Ed25519KeyPair.FromSecretKey(Convert.FromBase64String(registered.Json["private_key"]!.GetValue<string>()));
        Assert.Equal(registered.Json["public_key"]!.GetValue<string>(), Convert.ToBase64String(key.PublicKey));
        Assert.Equal(server.Url.AbsoluteUri.TrimEnd('/'), registered.Json["aim_url"]!.GetValue<string>());
        Assert.Equal(registration.Response!["capability_requests"]!.ToJsonString(), registered.Json["capability_requests"]!.ToJsonString());

        // The operator's grants in the recorded session.
        (await admin.PostAsync($"api/v1/agents/{agentId.Replace("-", string.Empty, StringComparison.Ordinal)}/grants", new { capabilities = new[] { "database:read", "payment:refund" } })).Expect(HttpStatusCode.OK);

        var substitutions = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [registration.Response["agent_id"]!.GetValue<string>()] = agentId,
            [registration.Response["public_key"]!.GetValue<string>()] = Convert.ToBase64String(key.PublicKey),
        };
        using var agent = new AimSdkClient(server.Url, agentId, key);
        foreach (var e in recording.Skip(1))
        {
            string path = Substitute(e.Path, substitutions), body = Substitute(e.Body, substitutions);
            if (e.Path == "/api/v1/sdk-api/verifications")
            {
                // The body's own signature covers the agent id: made again with the new key.
                var parsed = JsonNode.Parse(body)!.AsObject();
                string payload = PythonJson.Dumps(new JsonObject
                {
                    ["action_type"] = parsed["action_type"]!.DeepClone(), ["agent_id"] = parsed["agent_id"]!.DeepClone(), ["context"] = parsed["context"]!.DeepClone(),
                    ["resource"] = parsed["resource"]?.DeepClone(), ["timestamp"] = parsed["timestamp"]!.DeepClone(),
                });
                body = body.Replace(parsed["signature"]!.GetValue<string>(), Convert.ToBase64String(key.Sign(Encoding.UTF8.GetBytes(payload))), StringComparison.Ordinal);
            }

            if (e.Method == "GET" && e.Response?["status"]?.GetValue<string>() == "approved")
            {
                // In the session the operator approved from the CLI while the SDK polled.
                string pending = path[(path.LastIndexOf('/') + 1)..].Replace("-", string.Empty, StringComparison.Ordinal);
                (await admin.PostAsync($"api/v1/approvals/{pending}/approve", new { reason = "refund checked with the customer" })).Expect(HttpStatusCode.OK);
            }

            var r = await agent.SendAsync(new HttpMethod(e.Method), path, e.Body.Length == 0 ? null : body, userAgent: e.Headers["User-Agent"]);
            Assert.True((int)r.Status == e.Status, $"{e.Method} {e.Path}: {(int)r.Status} {r.Text}, recorded {e.Status}");
            CheckAnswer(e, r.Json, substitutions);
        }

        // The SDK's results landed in the signed audit log, each with the agent's own signed request as evidence.
        var entries = (await admin.GetAsync($"api/v1/audit/entries?agent={agentId.Replace("-", string.Empty, StringComparison.Ordinal)}&limit=100")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        var results = entries.Where(x => x!["capability"]!.GetValue<string>() == "aim:verification.result").ToList();
        Assert.Equal(recording.Count(x => x.Path.EndsWith("/result", StringComparison.Ordinal)), results.Count);
        foreach (var entry in results)
        {
            var evidence = JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(entry!["body"]!.GetValue<string>()))!["record"]!["aim_request"]!;
            var message = AimSdkClient.Message(evidence["method"]!.GetValue<string>(), evidence["path"]!.GetValue<string>(), long.Parse(evidence["timestamp"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture), evidence["body"]!.GetValue<string>());
            Assert.True(Ed25519.Verify(key.PublicKey, message, Convert.FromBase64String(evidence["signature"]!.GetValue<string>())));
        }

        Assert.True((await admin.GetAsync("api/v1/audit/verify")).Expect(HttpStatusCode.OK).Json["valid"]!.GetValue<bool>());

        // The dashboard's marker: the SDK named itself in its User-Agent and its integration report.
        var compat = server.Services.GetRequiredService<CompatStore>();
        var marked = await compat.FindAgentAsync((await compat.FindOrgAsync("default"))!.Id, agentId.Replace("-", string.Empty, StringComparison.Ordinal));
        Assert.Equal("AIM Python SDK 1.0.0", marked!.Marker);
        Assert.Equal("server", marked.KeyCustody);
    }

    // The fields the SDK reads from each answer, compared with what the recorded session got.
    private static void CheckAnswer(Exchange e, JsonNode answer, Dictionary<string, string> substitutions)
    {
        string route = $"{e.Method} {Shape(e.Path)}";
        var recorded = e.Response!;
        switch (route)
        {
            case "POST /api/v1/sdk-api/verifications":
            case "GET /api/v1/sdk-api/verifications/{id}":
                // verify_action / _wait_for_approval: id, status, approved_by, expires_at, denial_reason (trust_score shown).
                string status = answer["status"]!.GetValue<string>();
                Assert.Equal(recorded["status"]!.GetValue<string>(), status);
                Assert.Matches("^[0-9a-f-]{36}$", answer["id"]!.GetValue<string>());
                Assert.True(answer.AsObject().ContainsKey("approved_by") && answer.AsObject().ContainsKey("expires_at") && answer.AsObject().ContainsKey("denial_reason"));
                Assert.NotNull(answer["trust_score"]);
                Assert.Equal(recorded["capability"]!.GetValue<string>(), answer["capability"]!.GetValue<string>());
                Assert.Equal(recorded["risk"]!.GetValue<string>(), answer["risk"]!.GetValue<string>());
                if (status == "approved")
                {
                    Assert.False(string.IsNullOrEmpty(answer["approved_by"]!.GetValue<string>()));
                }

                if (status == "denied")
                {
                    // The SDK raises ActionDeniedError("Action denied: <denial_reason>"): our reason code and reason.
                    Assert.StartsWith(recorded["denial_reason"]!.GetValue<string>().Split(':')[0] + ": ", answer["denial_reason"]!.GetValue<string>(), StringComparison.Ordinal);
                }

                if (e.Method == "POST")
                {
                    substitutions[recorded["id"]!.GetValue<string>()] = answer["id"]!.GetValue<string>();
                }

                break;
            case "POST /api/v1/sdk-api/verifications/{id}/result":
                Assert.Equal("result_recorded", answer["status"]!.GetValue<string>());
                Assert.Equal(recorded["result"]!.GetValue<string>(), answer["result"]!.GetValue<string>());
                break;
            case "POST /api/v1/sdk-api/agents/{id}/capability-requests":
                // request_capability returns the answer; the session printed capability_type, capability and status.
                foreach (var field in new[] { "capability_type", "capability", "status" })
                {
                    Assert.Equal(recorded[field]!.GetValue<string>(), answer[field]!.GetValue<string>());
                }

                break;
            case "POST /api/v1/sdk-api/agents/{id}/mcp-servers":
                Assert.Equal(recorded["message"]!.GetValue<string>(), answer["message"]!.GetValue<string>());
                Assert.Equal(recorded["talks_to"]!.ToJsonString(), answer["talks_to"]!.ToJsonString());
                break;
            case "POST /api/v1/detection/agents/{id}/report":
            case "POST /api/v1/sdk-api/agents/{id}/detection/report":
                foreach (var field in new[] { "success", "detectionsProcessed", "newMCPs", "message" })
                {
                    Assert.Equal(recorded[field]!.ToJsonString(), answer[field]!.ToJsonString());
                }

                break;
            case "POST /api/v1/sdk-api/agents/{id}/capabilities":
                // report_capabilities counts any 2xx answer as granted; status says what really happened (granted or pending).
                Assert.Equal(recorded["status"]!.GetValue<string>(), answer["status"]!.GetValue<string>());
                Assert.Equal(recorded["capability"]!.GetValue<string>(), answer["capability"]!.GetValue<string>());
                break;
            default:
                Assert.Fail($"The recording holds a route this test does not check: {route}");
                break;
        }
    }

    internal static string Shape(string path) =>
        System.Text.RegularExpressions.Regex.Replace(path, "/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "/{id}");

    private static string Substitute(string text, Dictionary<string, string> map) =>
        map.Aggregate(text, (t, p) => t.Replace(p.Key, p.Value, StringComparison.Ordinal));
}
