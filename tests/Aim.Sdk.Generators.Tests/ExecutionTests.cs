using System.Collections;

namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// Compiles generated interceptors, loads them and runs them against the real runtime. One class, so
/// the tests never run in parallel with each other (they set the ambient runtime).
/// </summary>
public sealed class ExecutionTests : IDisposable
{
    private const string Guarded = """
        using System.Collections.Generic;
        using System.Threading.Tasks;
        using Aim;
        namespace Guarded;
        public static class Effects
        {
            public static readonly List<string> Runs = new();
        }
        public sealed class Payments
        {
            [SecureAction("payment:refund", JitAccess = false, RiskLevel = RiskLevel.Critical)]
            public string Refund(string order, decimal amount) { Effects.Runs.Add("refund " + order); return "refunded " + amount; }

            [SecureAction("db:read")]
            public int Read(int id) { Effects.Runs.Add("read " + id); return id * 10; }

            [SecureAction("db:read")]
            public async Task<int> ReadAsync(int id) { await Task.Yield(); Effects.Runs.Add("readAsync " + id); return id; }
        }
        public static class Entry
        {
            public static int Read(int id) => new Payments().Read(id);
            public static string Refund() => new Payments().Refund("o-1", 12.5m);
            public static Task<int> ReadAsync(int id) => new Payments().ReadAsync(id);
            public static List<string> Runs() => Effects.Runs;
        }
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("aim-gen-tests").FullName;

    public void Dispose()
    {
        AimRuntime.SetGlobal(null);
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private AimAgent Agent(params string[] grants) =>
        AimAgent.Secure("gen-test-agent", o =>
        {
            o.Home = _home;
            o.Grant(grants);
        });

    [Fact]
    public void Denied_action_never_runs_its_body()
    {
        using var loaded = Harness.BuildAndLoad(Guarded, "Guarded1");
        using var agent = Agent("db:read");
        using var scope = AimRuntime.Use(agent.Runtime);

        Assert.Throws<ActionDeniedException>(() => loaded.CallStatic("Guarded.Entry", "Refund"));

        var runs = (IList)loaded.CallStatic("Guarded.Entry", "Runs")!;
        Assert.Empty(runs);
    }

    [Fact]
    public void Allowed_action_returns_its_value_and_leaves_a_signed_audit_entry()
    {
        using var loaded = Harness.BuildAndLoad(Guarded, "Guarded2");
        using var agent = Agent("db:read");
        using var scope = AimRuntime.Use(agent.Runtime);
        long before = agent.VerifyAuditLog().EntriesChecked;

        object? result = loaded.CallStatic("Guarded.Entry", "Read", 4);

        Assert.Equal(40, result);
        Assert.Equal(["read 4"], ((IList)loaded.CallStatic("Guarded.Entry", "Runs")!).Cast<string>());
        var verification = agent.VerifyAuditLog();
        Assert.True(verification.IsValid, verification.Message);
        Assert.True(verification.EntriesChecked > before);
    }

    [Fact]
    public async Task Allowed_async_action_returns_its_value()
    {
        using var loaded = Harness.BuildAndLoad(Guarded, "Guarded3");
        using var agent = Agent("db:*");
        using var scope = AimRuntime.Use(agent.Runtime);

        var task = (Task<int>)loaded.CallStatic("Guarded.Entry", "ReadAsync", 7)!;

        Assert.Equal(7, await task);
    }

    [Fact]
    public void A_declared_cost_flows_into_the_interceptor_and_is_charged_against_the_budget()
    {
        const string Paid = """
            using Aim;
            namespace Paid;
            public static class Search
            {
                public static int Runs;
                [SecureAction("web:search", CostUsd = 1.5)]
                public static int Query(string q) { Runs++; return q.Length; }
            }
            public static class Entry
            {
                public static int Query(string q) => Search.Query(q);
                public static int Runs() => Search.Runs;
            }
            """;
        using var loaded = Harness.BuildAndLoad(Paid, "PaidCost");
        using var agent = AimAgent.Secure("gen-cost-agent", o =>
        {
            o.Home = _home;
            o.Grant("web:search").Budget(3m);
        });
        using var scope = AimRuntime.Use(agent.Runtime);

        Assert.Equal(2, loaded.CallStatic("Paid.Entry", "Query", "ab"));
        Assert.Equal(3, loaded.CallStatic("Paid.Entry", "Query", "abc"));
        var denied = Assert.Throws<ActionDeniedException>(() => loaded.CallStatic("Paid.Entry", "Query", "abcd"));

        Assert.Equal("budget_exceeded", denied.ReasonCode);
        Assert.Equal(2, loaded.CallStatic("Paid.Entry", "Runs"));
    }

    [Fact]
    public void Without_a_runtime_the_call_fails_closed()
    {
        using var loaded = Harness.BuildAndLoad(Guarded, "Guarded4");
        AimRuntime.SetGlobal(null);

        Assert.Throws<AimConfigurationException>(() => loaded.CallStatic("Guarded.Entry", "Read", 1));
        Assert.Empty((IList)loaded.CallStatic("Guarded.Entry", "Runs")!);
    }

    [Fact]
    public async Task Every_shape_runs_through_the_runtime_with_its_original_semantics()
    {
        using var loaded = Harness.BuildAndLoad(Sources.Shapes, "ShapesRun");
        using var single = Harness.BuildAndLoad(Guarded, "GuardedSingle");
        using var agent = Agent("db:*");
        using var scope = AimRuntime.Use(agent.Runtime);
        long start = agent.VerifyAuditLog().EntriesChecked;
        single.CallStatic("Guarded.Entry", "Read", 1);
        long perCall = agent.VerifyAuditLog().EntriesChecked - start;
        long before = start + perCall;

        var results = await (Task<List<string>>)loaded.CallStatic("Shapes.Calls", "RunAll")!;

        Assert.Equal(Sources.ExpectedResults, results);
        var verification = agent.VerifyAuditLog();
        Assert.True(verification.IsValid, verification.Message);
        Assert.True(perCall > 0);
        Assert.Equal(29 * perCall, verification.EntriesChecked - before); // 30 intercepted sites, one null-conditional receiver was null
    }

    [Fact]
    public async Task Every_shape_is_denied_without_the_grant()
    {
        using var loaded = Harness.BuildAndLoad(Sources.Shapes, "ShapesDenied");
        using var agent = Agent("email:send");
        using var scope = AimRuntime.Use(agent.Runtime);

        await Assert.ThrowsAsync<ActionDeniedException>(() => (Task<List<string>>)loaded.CallStatic("Shapes.Calls", "RunAll")!);

        var runs = (IList)loaded.Assembly.GetType("Shapes.Log")!.GetField("Runs")!.GetValue(null)!;
        Assert.Empty(runs);
    }

    [Fact]
    public void Malformed_capability_fails_closed_at_the_call_when_AIM001_is_suppressed()
    {
        const string source = """
            using System.Collections.Generic;
            using Aim;
            namespace Broken;
            public static class Entry
            {
                public static readonly List<string> Runs = new();

                [SecureAction("Not A Capability")]
                public static void Act() => Runs.Add("ran");

                public static void Call() => Act();
            }
            """;
        using var loaded = Harness.BuildAndLoad(source, "BrokenCapability");
        using var agent = Agent("*");
        using var scope = AimRuntime.Use(agent.Runtime);

        var thrown = Assert.ThrowsAny<Exception>(() => loaded.CallStatic("Broken.Entry", "Call"));

        Assert.Equal("CapabilityFormatException", thrown.GetType().Name);
        Assert.Empty((IList)loaded.Assembly.GetType("Broken.Entry")!.GetField("Runs")!.GetValue(null)!);
    }

    [Fact]
    public void Catalog_is_registered_at_module_load()
    {
        using var loaded = Harness.BuildAndLoad(Guarded, "Guarded5");

        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(loaded.Assembly.ManifestModule.ModuleHandle);

        Assert.True(ActionCatalog.TryGet("Guarded.Payments.Refund(string, decimal)", out var refund));
        Assert.Equal("payment:refund", refund!.CapabilityName);
        Assert.Equal(RiskLevel.Critical, refund.DetectedRisk);
        Assert.Equal(["order", "amount"], refund.ParameterNames);
        Assert.True(ActionCatalog.TryGet("Guarded.Payments", "Read", out var read));
        Assert.Equal("db:read", read!.CapabilityName);
    }
}
