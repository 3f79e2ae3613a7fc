using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Authorization;
using Aim.Capabilities;
using Aim.Crypto;
using Aim.Engine;
using Aim.Identity;
using Aim.Policy;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aim.Gateway.Tests;

/// <summary>The gateway fails closed when the runtime cannot record its decisions.</summary>
public sealed class GatewayAuditFailureTests : IAsyncLifetime
{
    private readonly Ed25519KeyPair _issuer = Ed25519KeyPair.Generate();
    private readonly Ed25519KeyPair _agent = Ed25519KeyPair.Generate();
    private CountingUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await CountingUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _issuer.Dispose();
        _agent.Dispose();
    }

    private GatewayConfig Config() => GatewayConfig.Parse($$"""
        {"listen":"http://127.0.0.1:0","upstream":"{{_upstream.Url}}","trustedKeys":["{{AipIdentifier.ForKey(_issuer.PublicKey)}}"]}
        """);

    /// <summary>A gateway whose runtime runs the real pipeline (grant gateway:forward, the gateway's step 4) over <paramref name="engine"/>'s records.</summary>
    private async Task<WebApplication> StartAsync(FakeEngine engine)
    {
        var config = Config();
        var verifier = GatewayTokenRules.Verifier(config, TimeProvider.System);
        engine.Pipeline = new AuthorizationPipeline(new AgentPolicy.Builder("gateway-test").Grant(CapabilityGrant.Parse("gateway:forward")).Build(), GatewayTokenRules.ChainCheck(config, verifier));
        var runtime = new AimRuntime(engine);
        var app = GatewayHost.Build(config, l => l.ClearProviders(), o =>
        {
            o.Runtime = runtime;
            o.Verifier = verifier;
        });
        await app.StartAsync();
        return app;
    }

    private async Task<(HttpStatusCode Status, string? Code)> SendAsync(WebApplication gateway)
    {
        var iat = DateTimeOffset.UtcNow;
        string token = CompactToken.Create(_issuer, new AipTokenClaims(AipIdentifier.ForKey(_issuer.PublicKey), AipIdentifier.ForKey(_agent.PublicKey), ["tool:*"], 1, 1, iat, iat.AddMinutes(5)));
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Urls.First()) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-AIP-Token", token);
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? null : JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_decision_the_engine_cannot_record_is_never_forwarded()
    {
        var engine = new FakeEngine { Fail = true };
        await using var gateway = await StartAsync(engine);
        int hits = _upstream.Hits;

        var (status, code) = await SendAsync(gateway);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("aim_audit_unavailable", code);
        Assert.Equal(hits, _upstream.Hits);
    }

    [Fact]
    public async Task Every_forwarded_request_is_authorized_and_its_outcome_recorded()
    {
        var engine = new FakeEngine();
        await using var gateway = await StartAsync(engine);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(gateway)).Status);
        }

        lock (engine.Records)
        {
            Assert.Equal(20, engine.Records.Count(r => r.Kind == AuditEntryKind.Authorized && r.Capability == "gateway:forward" && r.Resource == "tool:search"));
            Assert.Equal(20, engine.Records.Count(r => r.Kind == AuditEntryKind.Outcome && r.Outcome == "success"));
        }
    }

    [Fact]
    public async Task A_closed_audit_log_refuses_instead_of_forwarding_unaudited()
    {
        string home = Directory.CreateTempSubdirectory("aim-gw-closed-").FullName;
        try
        {
            var config = Config();
            config.Home = home;
            await using var gateway = GatewayHost.Build(config, l => l.ClearProviders());
            await gateway.StartAsync();
            var engine = (EmbeddedEngine)gateway.Services.GetService(typeof(IAimEngine))!;
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(gateway)).Status);

            engine.AuditLog.Dispose();
            int hits = _upstream.Hits;
            var (status, code) = await SendAsync(gateway);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("aim_audit_unavailable", code);
            Assert.Equal(hits, _upstream.Hits);
        }
        finally
        {
            AimRuntime.SetGlobal(null);
            Directory.Delete(home, recursive: true);
        }
    }

    private sealed class FakeEngine : IAimEngine
    {
        private readonly Ed25519KeyPair _key = Ed25519KeyPair.Generate();

        public bool Fail { get; init; }

        public AuthorizationPipeline Pipeline { get; set; } = null!;

        public List<AuditRecord> Records { get; } = [];

        public AgentIdentity Agent => new(Guid.Empty, "gateway-test", _key.PublicKey);

        public ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken) =>
            Pipeline.AuthorizeAsync(request, cancellationToken);

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
