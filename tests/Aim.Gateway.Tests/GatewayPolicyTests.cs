using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Aim.Gateway.Tests;

/// <summary>The gateway's policy file is its engine's policy source: grants, rate limits and time windows work as everywhere.</summary>
public sealed class GatewayPolicyTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-gw-policy-").FullName;
    private readonly Ed25519KeyPair _issuer = Ed25519KeyPair.Generate();
    private readonly Ed25519KeyPair _caller = Ed25519KeyPair.Generate();
    private CountingUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await CountingUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        AimRuntime.SetGlobal(null);
        _issuer.Dispose();
        _caller.Dispose();
        Directory.Delete(_home, recursive: true);
    }

    private async Task<WebApplication> StartAsync(string policy, string extra = "")
    {
        string home = Directory.CreateDirectory(Path.Combine(_home, Guid.NewGuid().ToString("N"))).FullName;
        string policyFile = Path.Combine(home, "policy.json");
        await File.WriteAllTextAsync(policyFile, policy);
        var config = GatewayConfig.Parse($$"""
            {"listen":"http://127.0.0.1:0","upstream":"{{_upstream.Url}}","trustedKeys":["{{AipIdentifier.ForKey(_issuer.PublicKey)}}"],
             "policyFile":"{{policyFile}}","home":"{{home}}"{{extra}}}
            """);
        var app = GatewayHost.Build(config, l => l.ClearProviders());
        await app.StartAsync();
        return app;
    }

    private string Token(string[] scopes)
    {
        var iat = DateTimeOffset.UtcNow;
        return CompactToken.Create(_issuer, new AipTokenClaims(AipIdentifier.ForKey(_issuer.PublicKey), AipIdentifier.ForKey(_caller.PublicKey), scopes, 1, 1, iat, iat.AddMinutes(5)));
    }

    private static async Task<(HttpStatusCode Status, string? Code)> CallAsync(WebApplication gateway, string? token, string tool = "search", string path = "/mcp")
    {
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Urls.First()) };
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\"}}", Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Add("X-AIP-Token", token);
        }

        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? null : JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_rate_limit_of_the_policy_file_holds_at_the_gateway()
    {
        await using var gateway = await StartAsync("""
            {"version":1,"agents":{"aip-gateway":{"grants":["gateway:forward@tool:*"],"rateLimits":[{"capability":"gateway:forward","limit":2,"per":"00:10:00"}]}}}
            """);
        string token = Token(["tool:*"]);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(gateway, token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(gateway, token)).Status);
        int hits = _upstream.Hits;
        var (status, code) = await CallAsync(gateway, token);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("rate_limited", code);
        Assert.Equal(hits, _upstream.Hits);
    }

    [Fact]
    public async Task A_time_window_of_the_policy_file_holds_at_the_gateway()
    {
        // A window that never contains now (one hour, three hours from now, every day).
        int start = (DateTimeOffset.UtcNow.Hour + 3) % 24;
        await using var gateway = await StartAsync(
            "{\"version\":1,\"agents\":{\"aip-gateway\":{\"grants\":[\"gateway:forward\"],\"timeWindows\":[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]," +
            $"\"startHour\":{start},\"endHour\":{start + 1}" + "}]}}}");
        var (status, code) = await CallAsync(gateway, Token(["tool:*"]));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("outside_time_window", code);
    }

    [Fact]
    public async Task Configuration_files_are_read_at_start_and_not_watched()
    {
        // A reload-on-change watcher covers the whole working directory: it woke for every audit write under it.
        await using var gateway = await StartAsync("""{"version":1,"agents":{"aip-gateway":{"grants":["gateway:forward"]}}}""");
        var files = ((IConfigurationRoot)gateway.Configuration).Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.NotEmpty(files); // appsettings.json is still read
        Assert.All(files, f => Assert.False(f.Source.ReloadOnChange, f.Source.Path));
    }

    [Fact]
    public async Task A_gateway_agent_missing_from_the_policy_file_forwards_nothing()
    {
        await using var gateway = await StartAsync("""{"version":1,"agents":{"someone-else":{"grants":["*"]}}}""");
        int hits = _upstream.Hits;
        var (status, code) = await CallAsync(gateway, Token(["tool:*"]));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("capability_not_granted", code);
        Assert.Equal(hits, _upstream.Hits);
    }

    [Fact]
    public async Task Without_a_required_token_the_policy_alone_decides_and_a_present_token_is_still_verified()
    {
        await using var gateway = await StartAsync("""
            {"version":1,"agents":{"aip-gateway":{"grants":["gateway:forward@tool:search"]}}}
            """, ",\"requireToken\":false");
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(gateway, null)).Status);
        Assert.Equal((HttpStatusCode.Forbidden, "resource_not_granted"), await CallAsync(gateway, null, "delete_everything"));
        Assert.Equal((HttpStatusCode.Forbidden, "aip_scope_insufficient"), await CallAsync(gateway, Token(["tool:lookup"])));
        Assert.Equal((HttpStatusCode.Unauthorized, "aip_token_malformed"), await CallAsync(gateway, "not-a-token"));
    }
}
