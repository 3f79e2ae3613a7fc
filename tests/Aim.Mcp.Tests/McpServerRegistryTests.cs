using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Engine;
using Aim.Server;
using Microsoft.AspNetCore.Builder;

namespace Aim.Mcp.Tests;

/// <summary>A real Aim server (SQLite, loopback) with one organization whose admin key registers MCP servers.</summary>
public sealed class AimServerFixture : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("aim-mcp-registry-").FullName;
    private WebApplication _app = null!;

    public Uri Url { get; private set; } = null!;

    public string OrgKey { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        string bootstrap = "aim_test_" + Guid.NewGuid().ToString("N");
        _app = await AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0"], o =>
        {
            o.DataDirectory = _data;
            o.BootstrapAdminKey = bootstrap;
        });
        await _app.StartAsync();
        Url = new Uri(_app.Urls.First(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) + "/");
        using var http = new HttpClient { BaseAddress = Url };
        http.DefaultRequestHeaders.Authorization = new("Bearer", bootstrap);
        using var created = await http.PostAsJsonAsync("api/v1/orgs", new { name = "mcp-tests" });
        created.EnsureSuccessStatusCode();
        OrgKey = (await created.Content.ReadFromJsonAsync<JsonObject>())!["admin_key"]!.GetValue<string>();
    }

    public McpServerRegistry Registry(string? key = null) => new(Url, key ?? OrgKey);

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class McpServerRegistryTests(AimServerFixture server) : IClassFixture<AimServerFixture>
{
    [Fact]
    public async Task Embedded_server_identity_is_registered_attested_and_found_by_the_id_it_presents()
    {
        string home = Directory.CreateTempSubdirectory("aim-mcp-home-").FullName;
        await using var engine = EmbeddedEngine.Create(new AimOptions { AgentName = "orders-mcp", Home = home });
        var runtime = new AimRuntime(engine);
        using var registry = server.Registry();

        var registration = await registry.RegisterAndAttestAsync("orders", "stdio://orders-mcp", runtime);

        Assert.True(registration.Attested);
        Assert.Null(registration.Challenge);
        Assert.Equal(runtime.Agent.AipId, registration.AipId);
        // The id a protected server puts in _meta.aip_server_identity resolves to the attested registration.
        var found = await registry.FindAttestedAsync(runtime.Agent.AipId);
        Assert.Equal(registration.Id, found?.Id);
        Assert.Contains(await registry.ListAsync(), r => r.Id == registration.Id && r.Attested);
    }

    [Fact]
    public async Task Registered_but_unattested_server_is_not_trusted()
    {
        using var key = Ed25519KeyPair.Generate();
        using var registry = server.Registry();

        var registration = await registry.RegisterAsync("pending", "https://pending.example/mcp", key.PublicKey.ToArray());

        Assert.False(registration.Attested);
        Assert.NotNull(registration.Challenge);
        Assert.Null(await registry.FindAttestedAsync(registration.AipId));
    }

    [Fact]
    public async Task Signature_over_anything_but_the_challenge_is_refused_by_the_server()
    {
        using var key = Ed25519KeyPair.Generate();
        using var registry = server.Registry();
        var registration = await registry.RegisterAsync("forged", "https://forged.example/mcp", key.PublicKey.ToArray());

        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.AttestAsync(registration with { Challenge = new byte[32] }, key));

        Assert.Equal("attestation_invalid", error.Code);
        Assert.Equal(400, error.Status);
        Assert.Null(await registry.FindAttestedAsync(registration.AipId));
    }

    [Fact]
    public async Task Attesting_with_a_key_other_than_the_registered_one_is_refused_before_sending()
    {
        using var key = Ed25519KeyPair.Generate();
        using var other = Ed25519KeyPair.Generate();
        using var registry = server.Registry();
        var registration = await registry.RegisterAsync("mismatch", "https://m.example/mcp", key.PublicKey.ToArray());

        await Assert.ThrowsAsync<ArgumentException>(() => registry.AttestAsync(registration, other));
        await Assert.ThrowsAsync<ArgumentException>(() => registry.RegisterAsync("short", "https://s.example", new byte[31]));
    }

    [Fact]
    public async Task Server_refusals_keep_their_code()
    {
        using var key = Ed25519KeyPair.Generate();
        using var wrongKey = server.Registry("aim_not_a_key");
        var unauthorized = await Assert.ThrowsAsync<McpServerRegistryException>(() => wrongKey.ListAsync());
        Assert.Equal(401, unauthorized.Status);
        Assert.Equal("api_key_invalid", unauthorized.Code);

        using var registry = server.Registry();
        var badUrl = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.RegisterAsync("bad", "ftp://x", key.PublicKey.ToArray()));
        Assert.Equal(400, badUrl.Status);
    }

    [Fact]
    public async Task Unreachable_server_is_aim_unavailable()
    {
        using var registry = new McpServerRegistry(new Uri("http://127.0.0.1:1/"), "key");
        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.ListAsync());
        Assert.Equal("aim_unavailable", error.Code);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"items":[{"id":"x"}]}""")]
    [InlineData("""{"items":[{"id":"x","name":"n","url":"u","public_key":"AAAA","attested":true,"created":"2026-01-01T00:00:00Z"}]}""")]
    public async Task Unreadable_answers_are_a_typed_error(string answer)
    {
        using var registry = new McpServerRegistry(new Uri("http://registry.test/"), "key", new FixedAnswer(answer));
        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.ListAsync());
        Assert.Equal("aim_registry_bad_answer", error.Code);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("aip:web:example.com")]
    [InlineData("aip:key:ed25519:zNotBase58!")]
    public async Task Presented_identities_that_are_not_keys_are_never_found(string? presented)
    {
        using var registry = server.Registry();
        Assert.Null(await registry.FindAttestedAsync(presented));
    }

    private sealed class FixedAnswer(string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }
}
