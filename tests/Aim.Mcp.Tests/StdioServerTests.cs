using System.Text;
using System.Text.Json;
using Aim.Audit;
using Aim.Crypto;
using Aim.Engine;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Aim.Mcp.Tests;

/// <summary>
/// A real MCP client (the SDK's, over stdio) against the sample's protected server, started as a child process.
/// </summary>
public sealed class StdioServerTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-mcp-").FullName;
    private readonly Ed25519KeyPair _issuer = Ed25519KeyPair.Generate();
    private readonly Ed25519KeyPair _caller = Ed25519KeyPair.Generate();
    private McpClient _client = null!;

    private string IssuerId => AipIdentifier.ForKey(_issuer.PublicKey);

    public async Task InitializeAsync()
    {
        // The sample is built beside this project's configuration: bin/<Configuration>/net10.0.
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        string configuration = here.Parent!.Name;
        string server = Path.GetFullPath(Path.Combine(here.FullName, "../../../../../samples/McpToolServer/bin", configuration, "net10.0/McpToolServer.dll"));
        Assert.True(File.Exists(server), server);
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "protected",
            Command = "dotnet",
            Arguments = [server, "serve"],
            EnvironmentVariables = new Dictionary<string, string?> { ["AIM_HOME"] = _home, ["AIM_MCP_TRUSTED_ROOTS"] = IssuerId },
        });
        // Pinned to the initialize handshake: the 2026-07 discovery probe races a slow-starting child process.
        _client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = "2025-11-25" });
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
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

    private string Token(string[] scopes, DateTimeOffset? issuedAt = null, Ed25519KeyPair? signer = null)
    {
        var iat = issuedAt ?? DateTimeOffset.UtcNow;
        var key = signer ?? _issuer;
        return CompactToken.Create(key, new AipTokenClaims(AipIdentifier.ForKey(key.PublicKey), AipIdentifier.ForKey(_caller.PublicKey), scopes, null, 0, iat, iat.AddMinutes(30)));
    }

    private static readonly Dictionary<string, object?> Order = new() { ["orderId"] = "A-7" };

    private string[] CallsThatRan() => File.Exists(Path.Combine(_home, "calls.log")) ? File.ReadAllLines(Path.Combine(_home, "calls.log")) : [];

    private async Task<IReadOnlyList<AuditRecord>> AuditAsync()
    {
        // Stop the server (it owns the log), then read its log with the same key store.
        await _client.DisposeAsync();
        await using var engine = EmbeddedEngine.Create(new AimOptions { AgentName = "mcp-tool-server", Home = _home });
        return engine.AuditLog.Read(0, (int)engine.AuditLog.Count).Select(e => e.Record).ToList();
    }

    [Fact]
    public async Task Valid_token_is_allowed_and_audited()
    {
        var result = await _client.CallToolWithAipTokenAsync("lookup_order", Order, Token(["db:read"]));

        Assert.NotEqual(true, result.IsError);
        Assert.Contains("order A-7", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal(["lookup_order"], CallsThatRan());
        Assert.StartsWith("aip:key:ed25519:z", result.Meta![AimCallToolFilter.ServerIdentityMetaKey]!.GetValue<string>());
        var audit = await AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Authorized && r.Capability == "db:read" && r.Resource == "orders");
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.Outcome == "success");
    }

    [Fact]
    public async Task Missing_token_is_refused_audited_and_never_runs()
    {
        var result = await _client.CallToolAsync("lookup_order", Order);

        Assert.Equal("aip_token_missing", McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
        var audit = await AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Denied && r.ReasonCode == "aip_token_missing");
    }

    [Fact]
    public async Task Expired_token_is_refused()
    {
        var result = await _client.CallToolWithAipTokenAsync("lookup_order", Order, Token(["db:read"], DateTimeOffset.UtcNow.AddHours(-2)));
        Assert.Equal("aip_token_expired", McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
    }

    [Fact]
    public async Task Token_used_beyond_its_scope_is_refused()
    {
        var result = await _client.CallToolWithAipTokenAsync("send_email", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "x" }, Token(["db:read"]));
        Assert.Equal("aip_scope_insufficient", McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
    }

    [Fact]
    public async Task Widened_scope_in_a_tampered_payload_is_refused()
    {
        // The caller rewrites its token's scope from db:read to email:send without the issuer's key.
        string token = Token(["db:read"]);
        var parts = token.Split('.');
        string payload = Encoding.UTF8.GetString(Base64UrlDecode(parts[1])).Replace("\"db:read\"", "\"email:send\"", StringComparison.Ordinal);
        string widened = parts[0] + "." + Base64UrlEncode(Encoding.UTF8.GetBytes(payload)) + "." + parts[2];

        var result = await _client.CallToolWithAipTokenAsync("send_email", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "x" }, widened);
        Assert.Equal("aip_signature_invalid", McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
    }

    [Fact]
    public async Task Tampered_signature_is_refused()
    {
        string token = Token(["db:read"]);
        char last = token[^2] == 'A' ? 'B' : 'A';
        string tampered = token[..^2] + last + token[^1];
        var result = await _client.CallToolWithAipTokenAsync("lookup_order", Order, tampered);
        Assert.Equal("aip_signature_invalid", McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
    }

    [Fact]
    public async Task Token_from_an_untrusted_issuer_is_refused()
    {
        using var stranger = Ed25519KeyPair.Generate();
        var result = await _client.CallToolWithAipTokenAsync("lookup_order", Order, Token(["db:read"], signer: stranger));
        Assert.Equal("aip_identity_unresolvable", McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
    }

    [Fact]
    public async Task Valid_token_for_a_capability_the_server_lacks_is_denied_by_the_call_path()
    {
        var result = await _client.CallToolWithAipTokenAsync("update_order", new Dictionary<string, object?> { ["orderId"] = "A-7", ["status"] = "void" }, Token(["db:write"]));
        Assert.True(result.IsError);
        Assert.NotNull(McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
        var audit = await AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Denied && r.Capability == "db:write");
    }

    [Fact]
    public async Task Malformed_meta_token_is_refused()
    {
        var meta = new System.Text.Json.Nodes.JsonObject { ["aip_token"] = 42 };
        var result = await _client.CallToolAsync(new CallToolRequestParams
        {
            Name = "lookup_order",
            Arguments = new Dictionary<string, JsonElement> { ["orderId"] = JsonSerializer.SerializeToElement("A-7") },
            Meta = meta,
        });
        Assert.Equal("aip_token_malformed", McpCallRefusal.ReadCode(result));
        Assert.Empty(CallsThatRan());
    }

    private static byte[] Base64UrlDecode(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
