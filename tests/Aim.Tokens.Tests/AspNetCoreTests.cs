using System.Net;
using System.Text.Json;
using Aim.Tokens.AspNetCore;
using Aim.Tokens.Compact;
using Aim.Tokens.Http;
using Aim.Tokens.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

public sealed class AspNetCoreTests : IAsyncLifetime
{
    private readonly Aim.Crypto.Ed25519KeyPair _root = FromByte(1);
    private readonly Aim.Crypto.Ed25519KeyPair _agent = FromByte(2);
    private WebApplication? _app;
    private HttpClient? _client;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddAipAuthentication(o => o.Verification.TrustStore = new InMemoryTrustStore(Id(_root)));
        _app = builder.Build();
        _app.UseAuthentication();
        _app.UseAuthorization();
        _app.UseAipDelegation();
        _app.MapGet("/search", (HttpContext c) => $"{c.User.FindFirst("sub")?.Value}|{AimDelegation.CurrentToken is not null}").RequireAipScope("tool:search");
        _app.MapGet("/delete", () => "deleted").RequireAipScope("tool:delete");
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private string Token(TimeSpan? age = null)
    {
        var iat = DateTimeOffset.UtcNow - (age ?? TimeSpan.Zero);
        return CompactToken.Create(_root, Claims(_root, _agent, iat: iat, ttl: TimeSpan.FromMinutes(10)));
    }

    private async Task<(HttpStatusCode Status, string Body)> Get(string path, Action<HttpRequestMessage>? setup = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        setup?.Invoke(request);
        using var response = await _client!.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string CodeOf(string body) => JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString()!;

    [Fact]
    public async Task Valid_token_in_either_header_reaches_the_endpoint_as_a_principal_and_ambient_token()
    {
        var token = Token();
        var viaHeader = await Get("/search", r => r.Headers.Add(AipHttp.TokenHeader, token));
        Assert.Equal(HttpStatusCode.OK, viaHeader.Status);
        Assert.Equal($"{Id(_agent)}|True", viaHeader.Body);

        var viaAuthorization = await Get("/search", r => r.Headers.TryAddWithoutValidation("Authorization", "AIP " + token));
        Assert.Equal(HttpStatusCode.OK, viaAuthorization.Status);
    }

    [Fact]
    public async Task Missing_bad_and_expired_tokens_get_401_with_the_AIP_code()
    {
        var missing = await Get("/search");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.Status);
        Assert.Equal(AipErrorCodes.TokenMissing, CodeOf(missing.Body));

        var garbage = await Get("/search", r => r.Headers.Add(AipHttp.TokenHeader, "a.b.c"));
        Assert.Equal(HttpStatusCode.Unauthorized, garbage.Status);
        Assert.Equal(AipErrorCodes.TokenMalformed, CodeOf(garbage.Body));

        var expired = await Get("/search", r => r.Headers.Add(AipHttp.TokenHeader, Token(TimeSpan.FromMinutes(30))));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Equal(AipErrorCodes.TokenExpired, CodeOf(expired.Body));
    }

    [Fact]
    public async Task Tool_outside_scope_gets_403_scope_insufficient()
    {
        var refused = await Get("/delete", r => r.Headers.Add(AipHttp.TokenHeader, Token()));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal(AipErrorCodes.ScopeInsufficient, CodeOf(refused.Body));
    }
}
