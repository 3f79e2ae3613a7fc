using Aim.Audit;
using Aim.Engine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Aim.Sdk.Tests;

[Collection(GlobalRuntimeCollection.Name)]
public sealed class AddAimTests : IDisposable
{
    private static readonly ActionDescriptor Send = new("email:send", method: "AddAimTests.Send()");
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Host_start_makes_the_runtime_current_and_actions_are_audited()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddAim(o =>
        {
            o.AgentName = "hosted-agent";
            o.Home = _home.Path;
            o.Grant("email:send");
        });
        using var host = builder.Build();
        await host.StartAsync();

        Assert.True(AimRuntime.IsConfigured);
        var runtime = host.Services.GetRequiredService<AimRuntime>();
        Assert.Same(runtime, AimRuntime.Current);
        Assert.Equal("hosted-agent", runtime.Agent.Name);
        Assert.Equal("sent", AimRuntime.Current.Invoke(Send, null, () => "sent"));

        var engine = Assert.IsType<EmbeddedEngine>(host.Services.GetRequiredService<IAimEngine>());
        await engine.AuditLog.FlushAsync();
        Assert.Contains(engine.AuditLog.Read(0, 10), e => e.Record.Kind == AuditEntryKind.Outcome && e.Record.Capability == "email:send");

        await host.StopAsync();
        await runtime.DisposeAsync();
        Assert.False(AimRuntime.IsConfigured);
    }

    [Fact]
    public async Task Missing_agent_name_fails_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddAim(o => o.Home = _home.Path);
        using var host = builder.Build();
        await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    [Fact]
    public async Task Secure_sets_the_process_wide_runtime_and_dispose_clears_it()
    {
        var agent = AimAgent.Secure("plain-agent", o =>
        {
            o.Home = _home.Path;
            o.Grant("email:send");
        });

        Assert.Same(agent.Runtime, AimRuntime.Current);
        Assert.StartsWith("aip:key:ed25519:z", agent.AipId);
        Assert.Equal(3, AimRuntime.Current.Invoke(Send, null, () => 3));
        Assert.True(agent.VerifyAuditLog().IsValid);
        Assert.Equal(8, agent.GetTrustScore().Factors.Count);

        await agent.DisposeAsync();
        Assert.False(AimRuntime.IsConfigured);
        Assert.Throws<AimConfigurationException>(() => AimRuntime.Current.Invoke(Send, null, () => 4));
    }

    [Fact]
    public async Task The_same_agent_name_reuses_its_key()
    {
        string first;
        await using (var agent = AimAgent.Secure("stable-agent", o => o.Home = _home.Path))
        {
            first = agent.AipId;
        }

        await using var again = AimAgent.Secure("stable-agent", o => o.Home = _home.Path);
        Assert.Equal(first, again.AipId);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRuntimeCollection
{
    public const string Name = "global runtime";
}
