using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;
using Aim.Engine;
using Aim.Tokens.Chained;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Aim.Gateway.Tests;

/// <summary>A real upstream Kestrel app and the gateway in front of it, both on loopback.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-gw-").FullName;
    private WebApplication _upstream = null!;
    private WebApplication _gateway = null!;

    public Ed25519KeyPair Issuer { get; } = Ed25519KeyPair.Generate();

    public Ed25519KeyPair Agent { get; } = Ed25519KeyPair.Generate();

    public int UpstreamHits;

    public Dictionary<string, string>? LastHeaders;

    public string? LastBody;

    public HttpClient Gateway { get; private set; } = null!;

    public HttpClient Direct { get; private set; } = null!;

    public string AgentId => AipIdentifier.ForKey(Agent.PublicKey);

    public async Task InitializeAsync()
    {
        var upstream = WebApplication.CreateSlimBuilder();
        upstream.WebHost.UseUrls("http://127.0.0.1:0");
        upstream.Logging.ClearProviders();
        _upstream = upstream.Build();
        _upstream.Run(async context =>
        {
            Interlocked.Increment(ref UpstreamHits);
            // Kestrel recycles the header collection after the request: keep a copy.
            LastHeaders = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            using var reader = new StreamReader(context.Request.Body);
            string body = await reader.ReadToEndAsync();
            LastBody = body;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(context.Request.Path == "/echo" ? body : "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}");
        });
        await _upstream.StartAsync();
        string upstreamUrl = _upstream.Urls.First();

        var config = GatewayConfig.Parse($$"""
        {
          "listen": "http://127.0.0.1:0",
          "upstream": "{{upstreamUrl}}",
          "trustedKeys": ["{{AipIdentifier.ForKey(Issuer.PublicKey)}}"],
          "allowedTools": { "{{AgentId}}": ["search", "lookup"] },
          "maxDepth": 1,
          "maxBudgetUsd": 10,
          "maxTtlSeconds": 1800,
          "home": "{{_home}}"
        }
        """);
        _gateway = GatewayHost.Build(config, l => l.ClearProviders());
        await _gateway.StartAsync();
        Gateway = new HttpClient { BaseAddress = new Uri(_gateway.Urls.First()) };
        Direct = new HttpClient { BaseAddress = new Uri(upstreamUrl) };
    }

    public EmbeddedEngine Engine => (EmbeddedEngine)_gateway.Services.GetRequiredService<IAimEngine>();

    public GatewayProxy Proxy => _gateway.Services.GetRequiredService<GatewayProxy>();

    public string UpstreamUrl => _upstream.Urls.First();

    public async Task<IReadOnlyList<AuditRecord>> AuditAsync()
    {
        await Proxy.FlushAuditAsync();
        await Engine.AuditLog.FlushAsync();
        return Engine.AuditLog.Read(0, (int)Engine.AuditLog.Count).Select(e => e.Record).ToList();
    }

    public string Token(string[] scopes, decimal? budget = 5, int ttlMinutes = 20, DateTimeOffset? issuedAt = null, Ed25519KeyPair? signer = null)
    {
        var iat = issuedAt ?? DateTimeOffset.UtcNow;
        var key = signer ?? Issuer;
        return CompactToken.Create(key, new AipTokenClaims(AipIdentifier.ForKey(key.PublicKey), AgentId, scopes, budget, 2, iat, iat.AddMinutes(ttlMinutes)));
    }

    public async Task DisposeAsync()
    {
        Gateway.Dispose();
        Direct.Dispose();
        await _gateway.StopAsync();
        await _gateway.DisposeAsync();
        await _upstream.StopAsync();
        await _upstream.DisposeAsync();
        AimRuntime.SetGlobal(null);
        Issuer.Dispose();
        Agent.Dispose();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class GatewayTests(GatewayFixture gw, ITestOutputHelper output) : IClassFixture<GatewayFixture>
{
    private static StringContent ToolCall(string tool) =>
        new("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}", Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, string? Code, bool Reached)> SendAsync(string? token, HttpContent? content = null, string path = "/mcp", Action<HttpRequestMessage>? edit = null)
    {
        int before = gw.UpstreamHits;
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content ?? ToolCall("search") };
        if (token is not null)
        {
            request.Headers.Add("X-AIP-Token", token);
        }

        edit?.Invoke(request);
        using var response = await gw.Gateway.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        string? code = response.IsSuccessStatusCode ? null : JsonNode.Parse(body)?["error"]?["code"]?.GetValue<string>();
        return (response.StatusCode, code, gw.UpstreamHits != before);
    }

    [Fact]
    public async Task Valid_token_is_forwarded_with_the_verified_identity()
    {
        var (status, _, reached) = await SendAsync(gw.Token(["tool:*"]));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(reached);
        Assert.Equal(gw.AgentId, gw.LastHeaders!["X-AIP-Verified-Subject"]);
        Assert.Equal("0", gw.LastHeaders!["X-AIP-Verified-Depth"]);
        Assert.Contains("tools/call", gw.LastBody);
        Assert.Contains(await gw.AuditAsync(), r => r.Decision == "allow" && r.OnBehalfOf == gw.AgentId && r.Resource == "search");
    }

    [Fact]
    public async Task Authorization_AIP_scheme_is_accepted()
    {
        var (status, _, reached) = await SendAsync(null, edit: r => r.Headers.TryAddWithoutValidation("Authorization", "AIP " + gw.Token(["tool:search"])));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(reached);
    }

    [Fact]
    public async Task A2A_token_in_params_metadata_is_accepted()
    {
        var rpc = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 7, ["method"] = "message/send", ["params"] = new JsonObject { ["metadata"] = new JsonObject { ["aip_token"] = gw.Token(["tool:*"]) } } };
        var (status, _, reached) = await SendAsync(null, new StringContent(rpc.ToJsonString(), Encoding.UTF8, "application/json"), "/a2a");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(reached);
    }

    [Fact]
    public async Task Spoofed_verified_headers_never_reach_the_upstream()
    {
        var (status, _, _) = await SendAsync(gw.Token(["tool:*"]), edit: r => r.Headers.Add("X-AIP-Verified-Subject", "aip:key:ed25519:zAttacker"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(gw.AgentId, gw.LastHeaders!["X-AIP-Verified-Subject"]);
    }

    public static TheoryData<string> ErrorCases => new()
    {
        "missing", "expired", "tampered", "untrusted", "scope", "tool_not_allowed", "budget", "ttl", "depth", "malformed", "conflicting",
    };

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public async Task Each_AIP_error_is_answered_by_the_gateway_and_never_reaches_the_upstream(string kind)
    {
        string valid = gw.Token(["tool:*"]);
        (HttpStatusCode status, string? code, bool reached) result = kind switch
        {
            "missing" => await SendAsync(null),
            "expired" => await SendAsync(gw.Token(["tool:*"], issuedAt: DateTimeOffset.UtcNow.AddHours(-2))),
            "tampered" => await SendAsync(valid[..^3] + (valid[^3] == 'A' ? 'B' : 'A') + valid[^2..]),
            "untrusted" => await SendAsync(gw.Token(["tool:*"], signer: gw.Agent)),
            "scope" => await SendAsync(gw.Token(["tool:lookup"])),
            "tool_not_allowed" => await SendAsync(valid, ToolCall("delete_everything")),
            "budget" => await SendAsync(gw.Token(["tool:*"], budget: 50)),
            "ttl" => await SendAsync(gw.Token(["tool:*"], ttlMinutes: 45)),
            "depth" => await SendAsync(DeepChain()),
            "malformed" => await SendAsync("not-a-token"),
            "conflicting" => await SendAsync(valid, edit: r => r.Headers.TryAddWithoutValidation("Authorization", "AIP other.token.here")),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        string expected = kind switch
        {
            "missing" => "aip_token_missing",
            "expired" or "ttl" => "aip_token_expired",
            "tampered" => "aip_signature_invalid",
            "untrusted" => "aip_identity_unresolvable",
            "scope" or "tool_not_allowed" => "aip_scope_insufficient",
            "budget" => "aip_budget_exceeded",
            "depth" => "aip_depth_exceeded",
            _ => "aip_token_malformed",
        };
        Assert.Equal(expected, result.code);
        Assert.Equal(expected is "aip_scope_insufficient" or "aip_budget_exceeded" or "aip_depth_exceeded" ? HttpStatusCode.Forbidden : HttpStatusCode.Unauthorized, result.status);
        Assert.False(result.reached);
        Assert.Contains(await gw.AuditAsync(), r => r.Decision == "deny" && r.ReasonCode == expected);
    }

    private string DeepChain()
    {
        // Root -> agent B -> our agent: depth 2, over the gateway's maxDepth of 1.
        using var middle = Ed25519KeyPair.Generate();
        string middleId = AipIdentifier.ForKey(middle.PublicKey);
        string root = ChainedToken.Create(gw.Issuer, new AipAuthority(AipIdentifier.ForKey(gw.Issuer.PublicKey), ["tool:*"], 3, DateTimeOffset.UtcNow.AddMinutes(20), 5, middleId));
        string once = ChainedToken.Delegate(root, middle, new AipDelegation(gw.AgentId, ["tool:*"], "sub-task"));
        using var third = Ed25519KeyPair.Generate();
        return ChainedToken.Delegate(once, gw.Agent, new AipDelegation(AipIdentifier.ForKey(third.PublicKey), ["tool:*"], "sub-sub-task"));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","name":"delete_everything"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"delete_everything"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\ud800"}}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}, nonsense]""")]
    public async Task Json_the_gateway_cannot_read_unambiguously_is_refused_and_never_reaches_the_upstream(string json)
    {
        var (status, code, reached) = await SendAsync(gw.Token(["tool:*"]), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("request_malformed", code);
        Assert.False(reached);
        Assert.Contains(await gw.AuditAsync(), r => r.Decision == "deny" && r.ReasonCode == "request_malformed");
    }

    [Fact]
    public async Task Tool_call_inside_a_batch_is_checked()
    {
        string batch = """[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_everything"}}]""";
        var (status, code, reached) = await SendAsync(gw.Token(["tool:search"]), new StringContent(batch, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("aip_scope_insufficient", code);
        Assert.False(reached);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}""", "aip_scope_insufficient")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}""", "aip_scope_insufficient")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"metadata":{"aip_token":5}}}""", "aip_token_malformed")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"metadata":"x"}}""", "aip_token_missing")]
    public async Task Odd_json_rpc_shapes_are_refused_with_an_AIP_code(string json, string expected)
    {
        // No X-AIP-Token for the A2A shapes; a valid one (without the empty tool name) for the tools/call shapes.
        string? token = expected == "aip_scope_insufficient" ? gw.Token(["tool:search"]) : null;
        var (status, code, reached) = await SendAsync(token, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(expected, code);
        Assert.NotEqual(HttpStatusCode.InternalServerError, status);
        Assert.False(reached);
    }

    [Fact]
    public async Task Response_headers_and_body_of_the_upstream_come_back_unchanged()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp?x=1") { Content = ToolCall("search") };
        request.Headers.Add("X-AIP-Token", gw.Token(["tool:*"]));
        using var response = await gw.Gateway.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Concurrent_bodies_reach_the_upstream_intact()
    {
        // Request bodies travel in pooled buffers: each upstream must see exactly its own body, never another's.
        string token = gw.Token(["tool:*"]);
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
        {
            string json = "{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"method\":\"tools/call\",\"params\":{\"name\":\"search\",\"arguments\":{\"q\":\"" + new string((char)('a' + (i % 26)), 100 + (i * 37)) + "\"}}}";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-AIP-Token", token);
            using var response = await gw.Gateway.SendAsync(request);
            return (Sent: json, Status: response.StatusCode, Echoed: await response.Content.ReadAsStringAsync());
        }));

        Assert.All(results, r =>
        {
            Assert.Equal(HttpStatusCode.OK, r.Status);
            Assert.Equal(r.Sent, r.Echoed);
        });
    }

    [Fact]
    public async Task Repeated_token_is_verified_once_and_served_from_the_cache()
    {
        string token = gw.Token(["tool:search"], ttlMinutes: 19);
        int before = gw.Proxy.CachedTokens;
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(token)).Status);
        Assert.Equal(before + 1, gw.Proxy.CachedTokens);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(token)).Status);
        Assert.Equal(before + 1, gw.Proxy.CachedTokens);
    }

    [Fact]
    public async Task Oversized_json_body_is_refused()
    {
        var big = new StringContent("{\"x\":\"" + new string('a', 1024 * 1024 + 10) + "\"}", Encoding.UTF8, "application/json");
        var (status, code, reached) = await SendAsync(gw.Token(["tool:*"]), big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request_too_large", code);
        Assert.False(reached);
    }

    [Fact]
    public void Config_rejects_bad_input()
    {
        Assert.Throws<AimConfigurationException>(() => GatewayConfig.Parse("not json"));
        Assert.Throws<AimConfigurationException>(() => GatewayConfig.Parse("""{"listen":"http://127.0.0.1:1","upstream":"http://127.0.0.1:2","trustedKeys":[]}"""));
        Assert.Throws<AimConfigurationException>(() => GatewayConfig.Parse("""{"listen":"http://127.0.0.1:1","upstream":"ftp://x","trustedKeys":["aip:key:ed25519:zX"]}"""));
        Assert.Throws<AimConfigurationException>(() => GatewayConfig.Parse("""{"listen":"http://127.0.0.1:1","upstream":"http://127.0.0.1:2","trustedKeys":["aip:web:example.com/a"]}"""));
        Assert.Throws<AimConfigurationException>(() => GatewayConfig.Load("/nonexistent/gateway.json"));
    }

    [Fact]
    public async Task Bounded_load_reports_the_added_latency()
    {
        // Reports figures only (no timing assertion). The full measurement is benchmarks/Aim.Gateway.Load (docs/integrations.md):
        // 300 requests in a fresh test process run tier-0 JIT code, so these are cold figures, several times the settled ones.
        const int requests = 300;
        string token = gw.Token(["tool:*"]);
        async Task<double[]> MeasureAsync(HttpClient client, bool withToken)
        {
            var samples = new double[requests];
            for (int i = -20; i < requests; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = ToolCall("search") };
                if (withToken)
                {
                    request.Headers.Add("X-AIP-Token", token);
                }

                long start = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                if (i >= 0)
                {
                    samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }

                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            Array.Sort(samples);
            return samples;
        }

        var direct = await MeasureAsync(gw.Direct, false);
        var proxied = await MeasureAsync(gw.Gateway, true);
        double p50 = proxied[requests / 2] - direct[requests / 2];
        double p99 = proxied[requests * 99 / 100] - direct[requests * 99 / 100];
        output.WriteLine($"direct p50 {direct[requests / 2]:F0} us, gateway p50 {proxied[requests / 2]:F0} us, added p50 {p50:F0} us, added p99 {p99:F0} us ({requests} sequential requests, cold: JIT not settled)");
        Console.WriteLine($"GATEWAY-LATENCY (cold) direct p50 {direct[requests / 2]:F0} us, gateway p50 {proxied[requests / 2]:F0} us, added p50 {p50:F0} us, added p99 {p99:F0} us");
    }
}
