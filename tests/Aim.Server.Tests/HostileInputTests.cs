using System.Net;
using System.Text;
using Aim.Crypto;

namespace Aim.Server.Tests;

/// <summary>Every hostile request gets a 4xx with a stable code and a message with no internals; never a 500.</summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private AdminClient _admin = null!;
    private AgentClient _agent = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync("sqlite");
        _admin = _server.Admin();
        _agent = new AgentClient(_server.Url, "target");
        (await _agent.RegisterAsync(_admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await _admin.PostAsync($"api/v1/agents/{_agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
    }

    public async Task DisposeAsync()
    {
        _agent.Dispose();
        _admin.Dispose();
        await _server.DisposeAsync();
    }

    private static void AssertRefused(ApiResponse r, HttpStatusCode status, string code)
    {
        Assert.True(r.Status == status, $"Expected {status}, got {(int)r.Status}: {r.Text}");
        Assert.Equal(code, r.ErrorCode);
        string message = r.Json["error"]!["message"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(message));
        foreach (var leak in new[] { "Exception", "   at ", "SQLite", "Npgsql", "/work/", "System." })
        {
            Assert.DoesNotContain(leak, r.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Malformed_json_is_refused()
    {
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", "{\"capability\":"), HttpStatusCode.BadRequest, "malformed_json");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", "[1,2,3]"), HttpStatusCode.BadRequest, "malformed_json");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new string('[', 5000) + new string(']', 5000)), HttpStatusCode.BadRequest, "malformed_json");
        AssertRefused(await _admin.PostAsync("api/v1/api-keys", "{not json"), HttpStatusCode.BadRequest, "malformed_json");
    }

    [Fact]
    public async Task Wrong_types_and_values_are_refused()
    {
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = 5, capability = "db:read" }), HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "not a capability" }), HttpStatusCode.BadRequest, "invalid_capability");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read", risk = "7" }), HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read", jit_timeout_seconds = 1e300 }), HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await _admin.PostAsync("api/v1/api-keys", new { name = "x", role = "root" }), HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await _admin.PostAsync($"api/v1/agents/{_agent.Id}/grants", new { capabilities = new[] { "::" } }), HttpStatusCode.BadRequest, "invalid_capability");
        AssertRefused(await _admin.GetAsync("api/v1/audit/entries?limit=abc"), HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await _admin.GetAsync("api/v1/audit/entries?limit=-1"), HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await _admin.GetAsync("api/v1/audit/proofs/inclusion?index=0"), HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/audit/records", new { record = new { kind = "outcome" }, record_sig = "AAAA" }), HttpStatusCode.BadRequest, "record_signature_invalid");
    }

    [Fact]
    public async Task Oversized_body_is_refused()
    {
        var big = new { action_id = "x", capability = "db:read", method = new string('a', 100_000) };
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", big), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
        AssertRefused(await _admin.PostAsync("api/v1/api-keys", new { name = new string('n', 200_000), role = "admin" }), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }

    [Fact]
    public async Task Missing_or_malformed_signatures_are_refused()
    {
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" },
            tamper: m => m.Headers.Remove("Signature")), HttpStatusCode.Unauthorized, "signature_missing");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" },
            tamper: m => m.Headers.Remove("Content-Digest")), HttpStatusCode.Unauthorized, "signature_missing");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" },
            tamper: m => { m.Headers.Remove("Signature"); m.Headers.TryAddWithoutValidation("Signature", "sig1=:" + Convert.ToBase64String(new byte[64]) + ":"); }),
            HttpStatusCode.Unauthorized, "signature_invalid");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" },
            tamper: m => { m.Headers.Remove("Signature"); m.Headers.TryAddWithoutValidation("Signature", "sig1=:!!!:"); }),
            HttpStatusCode.Unauthorized, "signature_invalid");
        // Fewer covered components than the profile requires.
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" },
            tamper: m =>
            {
                var input = m.Headers.GetValues("Signature-Input").Single().Replace(" \"content-digest\"", string.Empty, StringComparison.Ordinal);
                m.Headers.Remove("Signature-Input");
                m.Headers.TryAddWithoutValidation("Signature-Input", input);
            }), HttpStatusCode.Unauthorized, "signature_invalid");
        // A valid signature for another path is not valid for this one.
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" },
            tamper: m => m.RequestUri = new Uri(m.RequestUri!, "/api/v1/capability-requests")), HttpStatusCode.Unauthorized, "signature_invalid");
    }

    [Fact]
    public async Task Signature_by_an_unknown_key_is_refused()
    {
        using var stranger = new AgentClient(_server.Url, "stranger");
        AssertRefused(await stranger.VerifyAsync("db:read"), HttpStatusCode.Unauthorized, "unknown_agent_key");
        // The right key id with a different key's signature.
        using var forger = new AgentClient(_server.Url, "target", Ed25519KeyPair.Generate());
        var realKeyId = _agent.KeyId;
        AssertRefused(await forger.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" },
            tamper: m =>
            {
                var input = m.Headers.GetValues("Signature-Input").Single().Replace(forger.KeyId, realKeyId, StringComparison.Ordinal);
                m.Headers.Remove("Signature-Input");
                m.Headers.TryAddWithoutValidation("Signature-Input", input);
            }), HttpStatusCode.Unauthorized, "signature_invalid");
    }

    [Fact]
    public async Task Replayed_nonce_is_refused()
    {
        string nonce = "fixed-nonce-" + Guid.NewGuid().ToString("N");
        (await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" }, nonce: nonce)).Expect(HttpStatusCode.Created);
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" }, nonce: nonce),
            HttpStatusCode.Unauthorized, "nonce_replayed");
    }

    [Fact]
    public async Task Exact_request_replayed_byte_for_byte_is_refused()
    {
        var body = Encoding.UTF8.GetBytes("{\"action_id\":\"y\",\"capability\":\"db:read\"}");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        (await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", body, nonce: "replay-me-123456", created: created)).Expect(HttpStatusCode.Created);
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", body, nonce: "replay-me-123456", created: created), HttpStatusCode.Unauthorized, "nonce_replayed");
    }

    [Fact]
    public async Task Skewed_clocks_are_refused_both_ways()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" }, created: now - 31),
            HttpStatusCode.Unauthorized, "signature_expired");
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" }, created: now + 31),
            HttpStatusCode.Unauthorized, "signature_expired");
        (await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:read" }, created: now - 20)).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Wrong_content_digest_is_refused()
    {
        AssertRefused(await _agent.SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = "x", capability = "db:write" },
            signedBody: Encoding.UTF8.GetBytes("{\"action_id\":\"x\",\"capability\":\"db:read\"}")), HttpStatusCode.Unauthorized, "content_digest_mismatch");
    }

    [Fact]
    public async Task Revoked_agent_is_refused_everywhere()
    {
        using var victim = new AgentClient(_server.Url, "victim");
        (await victim.RegisterAsync(_admin.ApiKey)).Expect(HttpStatusCode.Created);
        (await _admin.PostAsync($"api/v1/agents/{victim.Id}/revoke")).Expect(HttpStatusCode.OK);
        AssertRefused(await victim.VerifyAsync("db:read"), HttpStatusCode.Forbidden, "agent_revoked");
        AssertRefused(await ApiFlowTests.AppendAsync(victim, 1), HttpStatusCode.Forbidden, "agent_revoked");
        AssertRefused(await victim.SendAsync(HttpMethod.Post, "api/v1/capability-requests", new { capability = "db:read" }), HttpStatusCode.Forbidden, "agent_revoked");
        // Registering again with the same key does not resurrect it.
        (await victim.RegisterAsync(_admin.ApiKey)).Expect(HttpStatusCode.OK);
        AssertRefused(await victim.VerifyAsync("db:read"), HttpStatusCode.Forbidden, "agent_revoked");
    }

    [Fact]
    public async Task Audit_record_signed_by_another_key_is_refused()
    {
        using var other = Ed25519KeyPair.Generate();
        AssertRefused(await ApiFlowTests.AppendAsync(_agent, 1, other), HttpStatusCode.BadRequest, "record_signature_invalid");
    }

    [Fact]
    public async Task Registration_needs_an_api_key_and_proof_of_the_key()
    {
        using var newcomer = new AgentClient(_server.Url, "newcomer");
        AssertRefused(await newcomer.SendAsync(HttpMethod.Post, "api/v1/agents", new { name = "newcomer", aip_id = newcomer.KeyId }), HttpStatusCode.Unauthorized, "api_key_missing");
        AssertRefused(await newcomer.SendAsync(HttpMethod.Post, "api/v1/agents", new { name = "newcomer", aip_id = newcomer.KeyId }, apiKey: "aim_wrong"), HttpStatusCode.Unauthorized, "api_key_invalid");
        // Registering someone else's public key without their private key fails.
        using var victimKey = Ed25519KeyPair.Generate();
        string victimId = Aim.Identity.AgentIdentity.AipIdOf(victimKey.PublicKey);
        AssertRefused(await newcomer.SendAsync(HttpMethod.Post, "api/v1/agents", new { name = "newcomer", aip_id = victimId }, apiKey: _admin.ApiKey,
            tamper: m =>
            {
                var input = m.Headers.GetValues("Signature-Input").Single().Replace(newcomer.KeyId, victimId, StringComparison.Ordinal);
                m.Headers.Remove("Signature-Input");
                m.Headers.TryAddWithoutValidation("Signature-Input", input);
            }), HttpStatusCode.Unauthorized, "signature_invalid");
        AssertRefused(await newcomer.SendAsync(HttpMethod.Post, "api/v1/agents", new { name = "newcomer", aip_id = victimId }, apiKey: _admin.ApiKey),
            HttpStatusCode.BadRequest, "invalid_request");
        AssertRefused(await newcomer.SendAsync(HttpMethod.Post, "api/v1/agents", new { name = "../../etc", aip_id = newcomer.KeyId }, apiKey: _admin.ApiKey),
            HttpStatusCode.BadRequest, "invalid_request");
        // The name is taken by another key.
        using var impostor = new AgentClient(_server.Url, "target");
        AssertRefused(await impostor.RegisterAsync(_admin.ApiKey), HttpStatusCode.Conflict, "agent_exists");
    }

    [Fact]
    public async Task Random_garbage_never_causes_a_server_error()
    {
        var random = new Random(1234);
        string[] paths = ["api/v1/verifications", "api/v1/audit/records", "api/v1/capability-requests", "api/v1/agents", "api/v1/api-keys", "api/v1/orgs", "api/v1/mcp-servers", $"api/v1/agents/{_agent.Id}/grants"];
        for (int i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 300)];
            random.NextBytes(bytes);
            if (i % 3 == 0)
            {
                bytes = Encoding.UTF8.GetBytes("{\"" + new string((char)random.Next('a', 'z'), 3) + "\":" + (i % 2 == 0 ? "null" : "{\"a\":[1,2,{}]}") + ",\"capability\":[],\"record\":{\"kind\":7}}");
            }

            string path = paths[i % paths.Length];
            var r = i % 2 == 0
                ? await _agent.SendAsync(HttpMethod.Post, path, bytes, apiKey: _admin.ApiKey)
                : await _admin.SendAsync(HttpMethod.Post, path, Encoding.UTF8.GetString(bytes));
            Assert.True((int)r.Status is >= 200 and < 500, $"{path}: {(int)r.Status} {r.Text}");
            if ((int)r.Status >= 400)
            {
                Assert.NotNull(r.ErrorCode);
            }
        }
    }
}
