using System.Collections;
using Aim.Approvals;
using Aim.Audit;
using Aim.Authorization;
using Aim.Engine;

namespace Aim.Sdk.Generators.Tests;

/// <summary>Compiles <see cref="DispatchSources"/> once with the generator and loads it for every test of the class.</summary>
public sealed class DispatchAssemblyFixture : IDisposable
{
    private readonly LoadedAssembly _loaded = Harness.BuildAndLoad(DispatchSources.Source, "DispatchShapes");

    internal LoadedAssembly Loaded => _loaded;

    public IList Runs => (IList)_loaded.Assembly.GetType("Dispatch.Effects")!.GetField("Runs")!.GetValue(null)!;

    public void Dispose() => _loaded.Dispose();
}

/// <summary>
/// Per call shape (interface, abstract, virtual override, generic type, generic method, type-parameter receiver,
/// explicit implementation, restated attribute): with a denying runtime the body never runs and the denial is recorded;
/// with an allowing runtime the body runs once and is audited once, under the declaring member's identity.
/// The runtime is scoped with <see cref="AimRuntime.Use"/> (never the process-wide one other classes reset).
/// </summary>
public sealed class DispatchExecutionTests(DispatchAssemblyFixture fixture) : IClassFixture<DispatchAssemblyFixture>, IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-dispatch-tests").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private (AimRuntime Runtime, EmbeddedEngine Engine) Runtime(params string[] grants)
    {
        var options = new AimOptions { AgentName = "dispatch-agent", Home = _home };
        options.Grant(grants);
        options.ApprovalHandler = new DelegateApprovalHandler(_ => new ApprovalDecision(true, "approver@example.com", "test"));
        var engine = EmbeddedEngine.Create(options);
        return (new AimRuntime(engine), engine);
    }

    private async Task<object?> CallAsync(string entry)
    {
        object? result = fixture.Loaded.CallStatic("Dispatch.Calls", entry);
        if (result is Task task)
        {
            await task;
            return task.GetType().GetProperty("Result")!.GetValue(task);
        }

        return result;
    }

    private static async Task<List<AuditRecord>> RecordsAsync(EmbeddedEngine engine)
    {
        await engine.AuditLog.FlushAsync();
        return [.. engine.AuditLog.Read(0, 1000).Select(e => e.Record)];
    }

    [Theory]
    [MemberData(nameof(DispatchSources.Shapes), MemberType = typeof(DispatchSources))]
    public async Task Denied_call_never_runs_the_body_and_the_denial_is_recorded(string entry, string capability, string identity, string body)
    {
        fixture.Runs.Clear();
        var (runtime, engine) = Runtime("weather:read");
        await using var lifetime = runtime;
        using var scope = AimRuntime.Use(runtime);

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => CallAsync(entry));

        Assert.Equal(capability, denied.Capability);
        Assert.Equal("capability_not_granted", denied.ReasonCode);
        Assert.DoesNotContain(body, fixture.Runs.Cast<string>());
        Assert.Empty(fixture.Runs);
        var record = Assert.Single(await RecordsAsync(engine));
        Assert.Equal(AuditEntryKind.Denied, record.Kind);
        Assert.Equal(identity, record.Method);
        Assert.Equal(capability, record.Capability);
    }

    [Theory]
    [MemberData(nameof(DispatchSources.Shapes), MemberType = typeof(DispatchSources))]
    public async Task Allowed_call_runs_the_body_once_and_is_audited_once(string entry, string capability, string identity, string body)
    {
        fixture.Runs.Clear();
        var (runtime, engine) = Runtime(capability);
        await using var lifetime = runtime;
        using var scope = AimRuntime.Use(runtime);

        await CallAsync(entry);

        Assert.Equal([body], fixture.Runs.Cast<string>());
        var records = await RecordsAsync(engine);
        Assert.All(records, r => Assert.Equal(identity, r.Method));
        Assert.Single(records, r => r.Kind == AuditEntryKind.Outcome);
        Assert.DoesNotContain(records, r => r.Kind == AuditEntryKind.Denied);
        Assert.True(engine.AuditLog.Verify().IsValid);
    }

    [Fact]
    public async Task Results_are_the_implementations_results()
    {
        fixture.Runs.Clear();
        var (runtime, _) = Runtime("*");
        await using var lifetime = runtime;
        using var scope = AimRuntime.Use(runtime);

        Assert.Equal("refunded 12.5", await CallAsync("InterfaceAsync"));
        Assert.Equal("fast:v", await CallAsync("VirtualOverride"));
        Assert.Equal(20, await CallAsync("AbstractImplementationDirect"));
        Assert.Equal(5, await CallAsync("ClosedGenericImplementation"));
        Assert.Equal(7, await CallAsync("TypeParameterGenericInterface"));
        Assert.Equal(5, await CallAsync("GenericMethodDirect"));
        Assert.True((bool)(await CallAsync("RestatedDirect"))!);
    }

    [Fact]
    public async Task A_struct_reached_through_a_type_parameter_is_boxed_for_the_guarded_call()
    {
        // The interceptor takes the interface, so the compiler boxes the struct: the method runs on a copy, exactly as a
        // call through an IStore variable would. Pinned so the documented behaviour cannot change unnoticed.
        fixture.Runs.Clear();
        var (runtime, _) = Runtime("db:read");
        await using var lifetime = runtime;
        using var scope = AimRuntime.Use(runtime);

        Assert.Equal("c:s:1|loads=0", await CallAsync("StructThroughTypeParameter"));
    }
}
