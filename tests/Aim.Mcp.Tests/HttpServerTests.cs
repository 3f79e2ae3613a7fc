using System.ComponentModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;
using Aim.Engine;
using Aim.Mcp.AspNetCore;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Runtime;
using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aim.Mcp.Tests;

/// <summary>The tools of the HTTP server; each body counts its runs so a test can prove a refused call never ran.</summary>
[McpServerToolType]
public sealed class HttpOrderTools
{
    private static int lookups;
    private static int emails;

    public static int Lookups => Volatile.Read(ref lookups);

    public static int Emails => Volatile.Read(ref emails);

    [McpServerTool(Name = "lookup_order"), Description("Looks up an order by id.")]
    [SecureAction("db:read", Resource = "orders")]
    public static string LookupOrder(string orderId)
    {
        Interlocked.Increment(ref lookups);
        return $"order {orderId}: shipped";
    }

    [McpServerTool(Name = "send_email"), Description("Sends an email.")]
    [SecureAction("email:send")]
    public static string SendEmail(string to, string body)
    {
        Interlocked.Increment(ref emails);
        return "sent to " + to;
    }
}

/// <summary>
/// A protected MCP server over streamable HTTP (ModelContextProtocol.AspNetCore) on 127.0.0.1, called by the SDK's real
/// MCP client with the AIP token in <c>X-AIP-Token</c> or <c>Authorization: AIP</c>.
/// </summary>
[Collection(nameof(HttpOrderTools))] // the tools count their runs in statics: one test of this class at a time
public sealed class HttpServerTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-mcp-http-").FullName;
    private readonly Ed25519KeyPair _issuer = Ed25519KeyPair.Generate();
    private readonly Ed25519KeyPair _caller = Ed25519KeyPair.Generate();
    private readonly TokenHeaders _headers = new();
    private WebApplication _app = null!;
    private EmbeddedEngine _engine = null!;
    private McpClient _client = null!;
    private Uri _endpoint = null!;

    private static readonly Dictionary<string, object?> Order = new() { ["orderId"] = "A-7" };

    public async Task InitializeAsync() => await StartAsync(spoofIdentity: null);

    private async Task StartAsync(string? spoofIdentity)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var verifier = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore([AipIdentifier.ForKey(_issuer.PublicKey)]) });
        _engine = EmbeddedEngine.Create(new AimOptions
        {
            AgentName = "mcp-http-server",
            Home = _home,
            ChainCheck = new AipChainCheck(verifier, requireHolderIsAgent: false),
        }.Grant("db:read@orders", "email:send"));
        var runtime = new AimRuntime(_engine);
        builder.Services.AddMcpServer().WithHttpTransport().WithTools<HttpOrderTools>().WithAim(o =>
        {
            o.RequireToken = true;
            o.Runtime = runtime;
        });
        _app = builder.Build();
        if (spoofIdentity is not null)
        {
            // An earlier middleware (a confused or hostile authentication handler) claims a token the request never carried.
            _app.Use((context, next) =>
            {
                context.User.AddIdentity(new AipTokenIdentity(spoofIdentity));
                return next(context);
            });
        }

        _app.MapMcp("/mcp").WithAipTokens();
        await _app.StartAsync();
        _endpoint = new Uri(_app.Urls.First() + "/mcp");
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = _endpoint, TransportMode = HttpTransportMode.StreamableHttp },
            new HttpClient(new HeaderHandler(_headers) { InnerHandler = new SocketsHttpHandler() }),
            ownsHttpClient: true);
        _client = await McpClient.CreateAsync(transport);
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _engine.DisposeAsync();
        _issuer.Dispose();
        _caller.Dispose();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Token(string[] scopes, DateTimeOffset? issuedAt = null)
    {
        var iat = issuedAt ?? DateTimeOffset.UtcNow;
        return CompactToken.Create(_issuer, new AipTokenClaims(AipIdentifier.ForKey(_issuer.PublicKey), AipIdentifier.ForKey(_caller.PublicKey), scopes, null, 0, iat, iat.AddMinutes(30)));
    }

    private async Task<IReadOnlyList<AuditRecord>> AuditAsync()
    {
        await _engine.AuditLog.FlushAsync();
        return _engine.AuditLog.Read(0, (int)_engine.AuditLog.Count).Select(e => e.Record).ToList();
    }

    private async Task<CallToolResult> CallAsync(string tool, Dictionary<string, object?> args, string? token, bool asAuthorization = false)
    {
        _headers.Token = token;
        _headers.AsAuthorization = asAuthorization;
        return await _client.CallToolAsync(tool, args);
    }

    [Fact]
    public async Task Valid_token_in_X_AIP_Token_is_allowed_and_audited()
    {
        int before = HttpOrderTools.Lookups;

        var result = await CallAsync("lookup_order", Order, Token(["db:read"]));

        Assert.NotEqual(true, result.IsError);
        Assert.Contains("order A-7", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal(before + 1, HttpOrderTools.Lookups);
        Assert.StartsWith("aip:key:ed25519:z", result.Meta![AimCallToolFilter.ServerIdentityMetaKey]!.GetValue<string>());
        var audit = await AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Authorized && r.Capability == "db:read" && r.Resource == "orders");
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.Outcome == "success");
    }

    [Fact]
    public async Task Valid_token_in_Authorization_AIP_is_allowed()
    {
        int before = HttpOrderTools.Lookups;

        var result = await CallAsync("lookup_order", Order, Token(["db:*"]), asAuthorization: true);

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(before + 1, HttpOrderTools.Lookups);
    }

    [Fact]
    public async Task Missing_token_is_refused_audited_and_never_runs()
    {
        int before = HttpOrderTools.Lookups;

        var result = await CallAsync("lookup_order", Order, token: null);

        Assert.Equal("aip_token_missing", McpCallRefusal.ReadCode(result));
        Assert.Equal(before, HttpOrderTools.Lookups);
        Assert.Contains(await AuditAsync(), r => r.Kind == AuditEntryKind.Denied && r.ReasonCode == "aip_token_missing");
    }

    [Fact]
    public async Task Expired_token_is_refused()
    {
        int before = HttpOrderTools.Lookups;

        var result = await CallAsync("lookup_order", Order, Token(["db:read"], DateTimeOffset.UtcNow.AddHours(-2)));

        Assert.Equal("aip_token_expired", McpCallRefusal.ReadCode(result));
        Assert.Equal(before, HttpOrderTools.Lookups);
    }

    [Fact]
    public async Task Token_used_beyond_its_scope_is_refused()
    {
        int before = HttpOrderTools.Emails;

        var result = await CallAsync("send_email", new() { ["to"] = "a@b.c", ["body"] = "x" }, Token(["db:read"]));

        Assert.Equal("aip_scope_insufficient", McpCallRefusal.ReadCode(result));
        Assert.Equal(before, HttpOrderTools.Emails);
        Assert.Contains(await AuditAsync(), r => r.Kind == AuditEntryKind.Denied && r.ReasonCode == "aip_scope_insufficient");
    }

    [Fact]
    public async Task Widened_scope_in_a_tampered_payload_is_refused()
    {
        int before = HttpOrderTools.Emails;
        var parts = Token(["db:read"]).Split('.');
        string payload = Encoding.UTF8.GetString(Base64UrlDecode(parts[1])).Replace("\"db:read\"", "\"email:send\"", StringComparison.Ordinal);
        string widened = parts[0] + "." + Base64UrlEncode(Encoding.UTF8.GetBytes(payload)) + "." + parts[2];

        var result = await CallAsync("send_email", new() { ["to"] = "a@b.c", ["body"] = "x" }, widened);

        Assert.Equal("aip_signature_invalid", McpCallRefusal.ReadCode(result));
        Assert.Equal(before, HttpOrderTools.Emails);
    }

    [Fact]
    public async Task Tampered_signature_is_refused()
    {
        int before = HttpOrderTools.Lookups;
        string token = Token(["db:read"]);
        string tampered = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];

        var result = await CallAsync("lookup_order", Order, tampered);

        Assert.Equal("aip_signature_invalid", McpCallRefusal.ReadCode(result));
        Assert.Equal(before, HttpOrderTools.Lookups);
    }

    [Fact]
    public async Task Each_request_is_decided_on_its_own_token_within_one_session()
    {
        int before = HttpOrderTools.Lookups;

        var allowed = await CallAsync("lookup_order", Order, Token(["db:read"]));
        var refused = await CallAsync("lookup_order", Order, token: null);

        Assert.NotEqual(true, allowed.IsError);
        Assert.Equal("aip_token_missing", McpCallRefusal.ReadCode(refused));
        Assert.Equal(before + 1, HttpOrderTools.Lookups);
    }

    [Fact]
    public async Task Header_token_and_a_different_meta_token_are_refused_as_malformed()
    {
        int before = HttpOrderTools.Lookups;
        _headers.Token = Token(["db:read"]);

        var result = await _client.CallToolAsync(new CallToolRequestParams
        {
            Name = "lookup_order",
            Arguments = new Dictionary<string, JsonElement> { ["orderId"] = JsonSerializer.SerializeToElement("A-7") },
            Meta = new JsonObject { [AimMcpOptions.TokenMetaKey] = Token(["db:*"]) },
        });

        Assert.Equal("aip_token_malformed", McpCallRefusal.ReadCode(result));
        Assert.Equal(before, HttpOrderTools.Lookups);
    }

    [Fact]
    public async Task Conflicting_headers_are_answered_401_before_the_MCP_server()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup_order","arguments":{"orderId":"A-7"}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.TryAddWithoutValidation("X-AIP-Token", Token(["db:read"]));
        request.Headers.Authorization = new AuthenticationHeaderValue("AIP", Token(["db:*"]));
        int before = HttpOrderTools.Lookups;

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("aip_token_malformed", body["error"]!["code"]!.GetValue<string>());
        Assert.Equal(before, HttpOrderTools.Lookups);
    }

    [Fact]
    public async Task A_token_identity_added_by_another_handler_is_never_trusted()
    {
        await DisposeServerAsync();
        await StartAsync(spoofIdentity: Token(["db:read"]));
        int before = HttpOrderTools.Lookups;

        var result = await CallAsync("lookup_order", Order, token: null);

        Assert.Equal("aip_token_missing", McpCallRefusal.ReadCode(result));
        Assert.Equal(before, HttpOrderTools.Lookups);
    }

    private async Task DisposeServerAsync()
    {
        await _client.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _engine.DisposeAsync();
    }

    private static byte[] Base64UrlDecode(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed class TokenHeaders
    {
        public string? Token { get; set; }

        public bool AsAuthorization { get; set; }
    }

    /// <summary>Puts the current token on every request the MCP client sends (its POSTs, the event stream GET, the session DELETE).</summary>
    private sealed class HeaderHandler(TokenHeaders headers) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (headers.Token is { } token)
            {
                if (headers.AsAuthorization)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("AIP", token);
                }
                else
                {
                    request.Headers.TryAddWithoutValidation("X-AIP-Token", token);
                }
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
