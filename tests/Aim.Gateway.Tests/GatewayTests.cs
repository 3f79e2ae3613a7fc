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

    /// <summary>Every tool the upstream was asked to call, as a lenient JSON-RPC reader sees it.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> ToolsSeen { get; } = new();

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
            foreach (var tool in LenientReader.Tools(body))
            {
                ToolsSeen.Enqueue(tool);
            }
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
          "grants": ["gateway:forward@tool:search", "gateway:forward@tool:lookup", "gateway:forward@/*"],
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

public sealed class GatewayTests(GatewayFixture gw) : IClassFixture<GatewayFixture>
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

        // The runtime wrote the records: authorized (with the token's holder from step 4), then the outcome of the forwarding.
        var audit = await gw.AuditAsync();
        var authorized = audit.Last(r => r.Kind == AuditEntryKind.Authorized && r.Resource == "tool:search");
        Assert.Equal(gw.AgentId, authorized.Details?["aip_holder"]?.GetValue<string>());
        Assert.Equal("gateway:forward", authorized.Capability);
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.ActionId == authorized.ActionId && r.Outcome == "success");
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
            "scope" => "aip_scope_insufficient",
            "tool_not_allowed" => "resource_not_granted",
            "budget" => "aip_budget_exceeded",
            "depth" => "aip_depth_exceeded",
            _ => "aip_token_malformed",
        };
        Assert.Equal(expected, result.code);
        Assert.Equal(expected is "aip_scope_insufficient" or "aip_budget_exceeded" or "aip_depth_exceeded" or "resource_not_granted" ? HttpStatusCode.Forbidden : HttpStatusCode.Unauthorized, result.status);
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
        string batch = """[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"lookup"}}]""";
        var (status, code, reached) = await SendAsync(gw.Token(["tool:search"]), new StringContent(batch, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("aip_scope_insufficient", code);
        Assert.False(reached);

        // The batch's first call was authorized, then never forwarded: its outcome says so.
        var audit = await gw.AuditAsync();
        var search = audit.Last(r => r.Kind == AuditEntryKind.Authorized && r.Resource == "tool:search");
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.ActionId == search.ActionId && r.Outcome == "cancelled");
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}""", "request_malformed")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}""", "request_malformed")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"metadata":{"aip_token":5}}}""", "aip_token_malformed")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"metadata":"x"}}""", "aip_token_missing")]
    public async Task Odd_json_rpc_shapes_are_refused_with_an_AIP_code(string json, string expected)
    {
        // No X-AIP-Token for the A2A shapes; a valid one for the tools/call shapes (which name no tool to check).
        string? token = expected == "request_malformed" ? gw.Token(["tool:*"]) : null;
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
    public void Config_refuses_unknown_members_and_bad_grants()
    {
        // 'allowedTools' was replaced by grants: a config that still says it must not silently lose the rule.
        var retired = Assert.Throws<AimConfigurationException>(() => GatewayConfig.Parse($$"""{"listen":"http://127.0.0.1:1","upstream":"http://127.0.0.1:2","trustedKeys":["{{AipIdentifier.ForKey(gw.Issuer.PublicKey)}}"],"allowedTools":{"a":["b"]} }"""));
        Assert.Contains("grants", retired.Message);
        Assert.Throws<AimConfigurationException>(() => GatewayConfig.Parse($$"""{"listen":"http://127.0.0.1:1","upstream":"http://127.0.0.1:2","trustedKeys":["{{AipIdentifier.ForKey(gw.Issuer.PublicKey)}}"],"grants":["Not A Grant"]}"""));
        Assert.Throws<AimConfigurationException>(() => GatewayConfig.Parse($$"""{"listen":"http://127.0.0.1:1","upstream":"http://127.0.0.1:2","trustedKeys":["{{AipIdentifier.ForKey(gw.Issuer.PublicKey)}}"],"policyFile":"/nonexistent/policy.json"}"""));
    }

    // Issue 17, item 8: each way around the per-tool checks, refused now (each was forwarded before).

    [Theory]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    [InlineData("GET")]
    public async Task Tool_call_under_another_http_method_is_checked(string method)
    {
        var (status, code, reached) = await SendAsync(gw.Token(["tool:search"]), ToolCall("delete_everything"), edit: r => r.Method = new HttpMethod(method));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("resource_not_granted", code);
        Assert.False(reached);
    }

    [Theory]
    [InlineData("Tools/Call")]
    [InlineData("TOOLS/CALL")]
    [InlineData(" tools/call ")]
    public async Task Tool_call_with_its_method_spelled_in_another_case_is_checked(string spelling)
    {
        string json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + spelling + "\",\"params\":{\"name\":\"lookup\"}}";
        var (status, code, reached) = await SendAsync(gw.Token(["tool:search"]), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("aip_scope_insufficient", code);
        Assert.False(reached);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"Method":"tools/call","Params":{"Name":"lookup"}}""", HttpStatusCode.Forbidden, "aip_scope_insufficient")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call","params":{"name":"lookup"}}""", HttpStatusCode.BadRequest, "request_malformed")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","NAME":"lookup"}}""", HttpStatusCode.BadRequest, "request_malformed")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tool\u017F/call","params":{"name":"lookup"}}""", HttpStatusCode.BadRequest, "request_malformed")]
    [InlineData("""[[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup"}}]]""", HttpStatusCode.BadRequest, "request_malformed")]
    public async Task Member_names_are_read_as_a_case_insensitive_upstream_would(string json, HttpStatusCode expectedStatus, string expectedCode)
    {
        var (status, code, reached) = await SendAsync(gw.Token(["tool:search"]), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(expectedStatus, status);
        Assert.Equal(expectedCode, code);
        Assert.False(reached);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/octet-stream")]
    [InlineData(null)]
    public async Task Json_rpc_under_another_content_type_is_checked(string? contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup"}}"""));
        if (contentType is not null)
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        var (status, code, reached) = await SendAsync(gw.Token(["tool:search"]), content);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("aip_scope_insufficient", code);
        Assert.False(reached);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("\u00EF\u00BB\u00BF/* comment */ {\"method\":\"tools/call\",\"params\":{\"name\":\"lookup\"}}")]
    [InlineData("{method:'tools/call',params:{name:'lookup'}}")]
    public async Task A_body_that_is_not_strict_json_is_refused_whatever_its_label(string body)
    {
        var (status, code, reached) = await SendAsync(gw.Token(["tool:*"]), new StringContent(body, Encoding.Latin1, "text/plain"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("request_malformed", code);
        Assert.False(reached);
    }

    [Theory]
    [InlineData("X-AIP-Verified_Subject")]
    [InlineData("X_AIP_VERIFIED_SUBJECT")]
    [InlineData("x-aip-verified_depth")]
    [InlineData("X-Aip-Verified-Anything")]
    public async Task Identity_headers_spelled_with_underscores_never_reach_the_upstream(string header)
    {
        var (status, _, reached) = await SendAsync(gw.Token(["tool:*"]), edit: r => r.Headers.TryAddWithoutValidation(header, "aip:key:ed25519:zAttacker"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(reached);
        Assert.DoesNotContain(gw.LastHeaders!, h => h.Value.Contains("zAttacker", StringComparison.Ordinal));
        Assert.Equal(gw.AgentId, gw.LastHeaders!["X-AIP-Verified-Subject"]);
    }

    [Theory]
    [InlineData("GET /mcp HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")]
    [InlineData("CONNECT upstream:443 HTTP/1.1\r\nHost: upstream:443\r\n")]
    public async Task Upgrades_and_tunnels_are_refused(string head)
    {
        int before = gw.UpstreamHits;
        var url = gw.Gateway.BaseAddress!;
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(url.Host, url.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head + "X-AIP-Token: " + gw.Token(["tool:*"]) + "\r\n\r\n"));
        var buffer = new byte[4096];
        int read = await stream.ReadAsync(buffer);
        string response = Encoding.ASCII.GetString(buffer, 0, read);
        Assert.StartsWith("HTTP/1.1 400", response);
        if (head.StartsWith("GET", StringComparison.Ordinal))
        {
            Assert.Contains("upgrade_refused", response);
        }

        Assert.Equal(before, gw.UpstreamHits);
    }

    [Fact]
    public async Task Spoofed_tool_calls_never_reach_the_upstream_under_any_method_or_label()
    {
        // What the upstream saw, read as leniently as any upstream might: only tools the token and the grants allow.
        foreach (var method in new[] { "POST", "PUT", "PATCH", "GET" })
        {
            foreach (var type in new[] { "application/json", "text/plain" })
            {
                var content = new StringContent("""[{"jsonrpc":"2.0","id":1,"Method":"TOOLS/CALL","params":{"name":"delete_everything"}}]""", Encoding.UTF8, type);
                await SendAsync(gw.Token(["tool:*"]), content, edit: r => r.Method = new HttpMethod(method));
            }
        }

        Assert.DoesNotContain("delete_everything", gw.ToolsSeen);
    }
}

/// <summary>
/// How a lenient upstream could read JSON-RPC tool calls: member names in any case (the last one wins), the method in any
/// case with blanks around it, comments and trailing commas allowed. The gateway must never let through a tool call this
/// reader finds and the gateway did not check.
/// </summary>
public static class LenientReader
{
    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, AllowDuplicateProperties = true };

    public static IReadOnlyList<string> Tools(string body)
    {
        var tools = new List<string>();
        try
        {
            using var document = JsonDocument.Parse(body.TrimStart('\uFEFF'), Options);
            var root = document.RootElement;
            foreach (var message in root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root])
            {
                try
                {
                    if (Member(message, "method") is { ValueKind: JsonValueKind.String } method
                        && method.GetString()!.Trim().ToUpperInvariant().Replace('\u017F', 'S') == "TOOLS/CALL"
                        && Member(Member(message, "params"), "name") is { ValueKind: JsonValueKind.String } name)
                    {
                        tools.Add(name.GetString()!);
                    }
                }
                catch (InvalidOperationException)
                {
                    // A string it cannot decode (an unpaired surrogate): no tool call in this message it could act on.
                }
            }
        }
        catch (JsonException)
        {
        }

        return tools;
    }

    private static JsonElement? Member(JsonElement? element, string name)
    {
        JsonElement? found = null;
        if (element is { ValueKind: JsonValueKind.Object } o)
        {
            foreach (var property in o.EnumerateObject())
            {
                if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    found = property.Value;
                }
            }
        }

        return found;
    }
}
