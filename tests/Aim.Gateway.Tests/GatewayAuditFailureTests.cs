using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Authorization;
using Aim.Crypto;
using Aim.Engine;
using Aim.Identity;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim.Gateway.Tests;

/// <summary>The gateway fails closed when its decisions cannot be audited.</summary>
public sealed class GatewayAuditFailureTests : IAsyncLifetime
{
    private readonly Ed25519KeyPair _issuer = Ed25519KeyPair.Generate();
    private readonly Ed25519KeyPair _agent = Ed25519KeyPair.Generate();
    private WebApplication _upstream = null!;
    private int _hits;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _upstream = builder.Build();
        _upstream.Run(context =>
        {
            Interlocked.Increment(ref _hits);
            return context.Response.WriteAsync("{}");
        });
        await _upstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _upstream.StopAsync();
        await _upstream.DisposeAsync();
        _issuer.Dispose();
        _agent.Dispose();
    }

    private GatewayProxy Proxy(IAimEngine engine) => new(GatewayConfig.Parse($$"""
        {"listen":"http://127.0.0.1:0","upstream":"{{_upstream.Urls.First()}}","trustedKeys":["{{AipIdentifier.ForKey(_issuer.PublicKey)}}"],"auditWindowMilliseconds":0}
        """), new AimRuntime(engine), NullLogger.Instance);

    private async Task<(int Status, string? Code)> SendAsync(GatewayProxy proxy)
    {
        var iat = DateTimeOffset.UtcNow;
        string token = CompactToken.Create(_issuer, new AipTokenClaims(AipIdentifier.ForKey(_issuer.PublicKey), AipIdentifier.ForKey(_agent.PublicKey), ["tool:*"], 1, 1, iat, iat.AddMinutes(5)));
        var body = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}""");
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/mcp";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = body.Length;
        context.Request.Body = new MemoryStream(body);
        context.Request.Headers["X-AIP-Token"] = token;
        var response = new MemoryStream();
        context.Response.Body = response;
        await proxy.HandleAsync(context);
        string text = Encoding.UTF8.GetString(response.ToArray());
        string? code = context.Response.StatusCode == 200 ? null : JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>();
        return (context.Response.StatusCode, code);
    }

    [Fact]
    public async Task A_record_the_engine_refuses_stops_the_gateway_from_forwarding()
    {
        var engine = new FakeEngine { Fail = true };
        await using var proxy = Proxy(engine);

        // The first decision is answered before its commit is known (off the response path)...
        Assert.Equal(200, (await SendAsync(proxy)).Status);
        await Assert.ThrowsAsync<AimUnavailableException>(() => proxy.FlushAuditAsync());
        int hits = _hits;

        // ...and once a commit failed, nothing more is forwarded.
        var (status, code) = await SendAsync(proxy);
        Assert.Equal(503, status);
        Assert.Equal("aim_audit_unavailable", code);
        Assert.Equal(hits, _hits);
    }

    [Fact]
    public async Task Every_forwarded_request_is_recorded()
    {
        var engine = new FakeEngine();
        await using var proxy = Proxy(engine);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(200, (await SendAsync(proxy)).Status);
        }

        await proxy.FlushAuditAsync();
        Assert.Equal(20, engine.Records.Count(r => r.Decision == "allow" && r.Capability == "gateway:forward"));
    }

    [Fact]
    public async Task A_closed_gateway_refuses_instead_of_forwarding_unaudited()
    {
        var engine = new FakeEngine();
        var proxy = Proxy(engine);
        await proxy.DisposeAsync();
        int hits = _hits;
        var (status, code) = await SendAsync(proxy);
        Assert.Equal(503, status);
        Assert.Equal("aim_audit_unavailable", code);
        Assert.Equal(hits, _hits);
    }

    private sealed class FakeEngine : IAimEngine
    {
        private readonly Ed25519KeyPair _key = Ed25519KeyPair.Generate();

        public bool Fail { get; init; }

        public List<AuditRecord> Records { get; } = [];

        public AgentIdentity Agent => new(Guid.Empty, "gateway-test", _key.PublicKey);

        public ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public async ValueTask RecordAsync(AuditRecord record, bool waitForDurable, CancellationToken cancellationToken)
        {
            await Task.Yield(); // completes later, like a real commit
            if (Fail)
            {
                throw new AimUnavailableException("disk full");
            }

            lock (Records)
            {
                Records.Add(record);
            }
        }

        public ValueTask DisposeAsync()
        {
            _key.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
