using System.Net;
using System.Net.Sockets;
using Aim.Engine;
using Aim.Protocol;
using Aim.Remote;

namespace Aim.Server.Tests;

/// <summary>The SDK's remote engine against a real server: same runtime call path, server decisions.</summary>
public sealed class RemoteEngineTests
{
    public static TheoryData<string> Backends => Tests.Backends.All;

    private static AimOptions Options(ServerHarness server, string name, string? apiKey = null) => new()
    {
        AgentName = name,
        ServerUrl = server.Url,
        ApiKey = apiKey ?? server.AdminKey,
        Home = TestDirectories.Create("aim-remote-home").FullName,
    };

    private static async Task GrantAsync(AdminClient admin, string agent, params string[] capabilities) =>
        (await admin.PostAsync($"api/v1/agents/{agent}/grants", new { capabilities })).Expect(HttpStatusCode.OK);

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Granted_action_runs_and_is_audited_on_the_server(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        var options = Options(server, "remote-reader");
        await using var runtime = new AimRuntime(AimEngineFactory.Create(options));
        var engine = Assert.IsType<RemoteEngine>(runtime.Engine);

        // First use registers the agent (with the key from the local key store) even when the action is denied.
        var read = new ActionDescriptor("db:read", resource: "users_table");
        bool ran = false;
        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(read, null, () => { ran = true; return Task.CompletedTask; }));
        Assert.Equal("capability_not_granted", denied.ReasonCode);
        Assert.False(ran);
        Assert.NotNull(engine.ServerAgentId);
        var shown = (await admin.GetAsync("api/v1/agents/remote-reader")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal(runtime.Agent.AipId, shown["keys"]![0]!["key_id"]!.GetValue<string>());

        await GrantAsync(admin, "remote-reader", "db:read@users_*");
        int result = await runtime.InvokeAsync(read, null, () => Task.FromResult(42));
        Assert.Equal(42, result);

        // The runtime may record the outcome after the call returns (not awaited for durability): wait for it.
        for (int i = 0; i < 100; i++)
        {
            var approved = (await admin.GetAsync("api/v1/approvals?status=approved")).Json["items"]!.AsArray();
            if (approved.Any(v => v!["outcome"]?.GetValue<string>() == "success"))
            {
                break;
            }

            Assert.True(i < 99, "The outcome was never reported to the verification.");
            await Task.Delay(100);
        }

        var entries = (await admin.GetAsync("api/v1/audit/entries?agent=remote-reader")).Expect(HttpStatusCode.OK).Json["items"]!.AsArray();
        Assert.Contains(entries, e => e!["kind"]!.GetValue<string>() == "outcome" && e["entry"]!["source"]!.GetValue<string>() == "agent");
        Assert.True((await admin.GetAsync("api/v1/audit/verify")).Json["valid"]!.GetValue<bool>());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Jit_action_waits_for_a_human_approval(string backend)
    {
        await using var server = await ServerHarness.StartAsync(backend);
        using var admin = server.Admin();
        await using var runtime = new AimRuntime(AimEngineFactory.Create(Options(server, "refunder")));
        var refund = new ActionDescriptor("payment:refund", jitAccess: true, jitTimeoutSeconds: 60);
        // Register and grant.
        await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(new ActionDescriptor("x:y"), null, () => Task.CompletedTask));
        await GrantAsync(admin, "refunder", "payment:*");

        var call = runtime.InvokeAsync(refund, null, () => Task.FromResult("refunded"));
        string id = await WaitForPendingAsync(admin);
        Assert.False(call.IsCompleted);
        (await admin.PostAsync($"api/v1/approvals/{id}/approve", new { reason = "ok" })).Expect(HttpStatusCode.OK);
        Assert.Equal("refunded", await call.WaitAsync(TimeSpan.FromSeconds(30)));

        var second = runtime.InvokeAsync(refund, null, () => Task.FromResult("refunded"));
        id = await WaitForPendingAsync(admin);
        (await admin.PostAsync($"api/v1/approvals/{id}/deny", new { reason = "fraud" })).Expect(HttpStatusCode.OK);
        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => second.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("approval_denied", denied.ReasonCode);
    }

    [Fact]
    public async Task Jit_action_times_out_and_never_runs()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        await using var runtime = new AimRuntime(AimEngineFactory.Create(Options(server, "impatient")));
        await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(new ActionDescriptor("x:y"), null, () => Task.CompletedTask));
        await GrantAsync(admin, "impatient", "email:send");
        bool ran = false;
        await Assert.ThrowsAsync<ApprovalTimeoutException>(() =>
            runtime.InvokeAsync(new ActionDescriptor("email:send", jitAccess: true, jitTimeoutSeconds: 2), null, () => { ran = true; return Task.CompletedTask; }));
        Assert.False(ran);
    }

    [Fact]
    public async Task Jit_wait_honours_cancellation()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        using var admin = server.Admin();
        await using var runtime = new AimRuntime(AimEngineFactory.Create(Options(server, "cancelled")));
        await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(new ActionDescriptor("x:y"), null, () => Task.CompletedTask));
        await GrantAsync(admin, "cancelled", "email:send");
        using var cts = new CancellationTokenSource();
        var call = runtime.InvokeAsync(new ActionDescriptor("email:send", jitAccess: true, jitTimeoutSeconds: 120), null, () => Task.CompletedTask, cts.Token);
        await WaitForPendingAsync(admin);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Unreachable_server_fails_closed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        var options = new AimOptions
        {
            AgentName = "offline",
            ServerUrl = new Uri($"http://127.0.0.1:{port}/"),
            ApiKey = "aim_whatever",
            Home = TestDirectories.Create("aim-remote-home").FullName,
        };
        await using var runtime = new AimRuntime(AimEngineFactory.Create(options));
        bool ran = false;
        await Assert.ThrowsAsync<AimUnavailableException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => { ran = true; return Task.CompletedTask; }));
        Assert.False(ran);
    }

    [Fact]
    public async Task Wrong_api_key_never_runs_the_body()
    {
        await using var server = await ServerHarness.StartAsync("sqlite");
        await using var runtime = new AimRuntime(AimEngineFactory.Create(Options(server, "wrong-key", apiKey: "aim_not_a_key")));
        bool ran = false;
        await Assert.ThrowsAnyAsync<AimException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => { ran = true; return Task.CompletedTask; }));
        Assert.False(ran);
    }

    [Theory]
    [InlineData("ftp://example.com/")]
    [InlineData("http://example.com/?x=1")]
    public void Bad_server_url_is_a_configuration_error(string url)
    {
        var options = new AimOptions { AgentName = "a", ServerUrl = new Uri(url), Home = TestDirectories.Create("aim-remote-home").FullName };
        Assert.Throws<AimConfigurationException>(() => AimEngineFactory.Create(options));
        Assert.Throws<AimConfigurationException>(() => AimEngineFactory.Create(new AimOptions { ServerUrl = new Uri("http://127.0.0.1:1/") }));
    }

    private static async Task<string> WaitForPendingAsync(AdminClient admin)
    {
        for (int i = 0; i < 300; i++)
        {
            var items = (await admin.GetAsync("api/v1/approvals")).Json["items"]!.AsArray();
            if (items.Count > 0)
            {
                return items[0]!["id"]!.GetValue<string>();
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("No pending approval appeared.");
    }
}
