using Aim.Approvals;
using Aim.Audit;
using Aim.Authorization;

namespace Aim.Sdk.Tests;

[Collection(GlobalRuntimeCollection.Name)]
public sealed class CallPathTests : IDisposable
{
    private static readonly ActionDescriptor ReadUsers = new("db:read", resource: "users_table", method: "Tests.ReadUsers()");
    private static readonly ActionDescriptor DeleteUser = new("user:delete", method: "Tests.DeleteUser(string)", parameterNames: ["id"]);
    private static readonly ActionDescriptor Refund = new("payment:refund", jitAccess: true, jitTimeoutSeconds: 30, method: "Tests.Refund(string, decimal)", parameterNames: ["order", "amount"]);

    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Denied_action_never_runs_its_body()
    {
        var (runtime, engine) = Runtimes.Embedded(_home, o => o.Grant("db:read"));
        await using var _ = runtime;
        int ran = 0;

        var denied = Assert.Throws<ActionDeniedException>(() => runtime.Invoke(DeleteUser, ["u-1"], () => { ran++; }));
        var deniedAsync = await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(DeleteUser, ["u-1"], () => { ran++; return Task.CompletedTask; }));

        Assert.Equal(0, ran);
        Assert.Equal("capability_not_granted", denied.ReasonCode);
        Assert.Equal("aim_action_denied", denied.Code);
        Assert.Equal("user:delete", deniedAsync.Capability);

        await engine.AuditLog.FlushAsync();
        var entries = engine.AuditLog.Read(0, 10);
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal(AuditEntryKind.Denied, e.Record.Kind));
        Assert.All(entries, e => Assert.Equal("capability_not_granted", e.Record.ReasonCode));
    }

    [Fact]
    public async Task Allowed_action_returns_its_value_and_leaves_signed_authorized_and_outcome_entries()
    {
        var (runtime, engine) = Runtimes.Embedded(_home, o => o.Grant("db:read@users_*"));
        await using var _ = runtime;

        int result = runtime.Invoke(ReadUsers, null, () => 42);

        Assert.Equal(42, result);
        await engine.AuditLog.FlushAsync();
        var entries = engine.AuditLog.Read(0, 10);
        Assert.Collection(entries,
            e => Assert.Equal(AuditEntryKind.Authorized, e.Record.Kind),
            e =>
            {
                Assert.Equal(AuditEntryKind.Outcome, e.Record.Kind);
                Assert.Equal("success", e.Record.Outcome);
            });
        Assert.Equal(entries[0].Record.ActionId, entries[1].Record.ActionId);
        Assert.All(entries, e => Assert.Equal(engine.Agent.PublicKey.ToArray(), e.AgentPublicKey));
        Assert.True(engine.AuditLog.Verify().IsValid);
    }

    [Fact]
    public async Task Outcome_entry_carries_the_result_only_when_the_action_logs_it()
    {
        var logged = new ActionDescriptor("db:read", resource: "users_table", method: "Tests.CountUsers()", logResult: true);
        var (runtime, engine) = Runtimes.Embedded(_home, o => o.Grant("db:read@users_*"));
        await using var _ = runtime;

        Assert.Equal(7, runtime.Invoke(logged, null, () => 7));
        Assert.Equal(42, runtime.Invoke(ReadUsers, null, () => 42));
        Assert.Equal("x", await runtime.InvokeAsync(logged, null, () => Task.FromResult("x")));

        await engine.AuditLog.FlushAsync();
        var outcomes = engine.AuditLog.Read(0, 10).Where(e => e.Record.Kind == AuditEntryKind.Outcome).Select(e => e.Record).ToList();
        Assert.Equal(3, outcomes.Count);
        Assert.Equal("7", outcomes[0].Result?.ToJsonString());
        Assert.Null(outcomes[1].Result);
        Assert.Equal("\"x\"", outcomes[2].Result?.ToJsonString());
    }

    [Fact]
    public async Task Resource_outside_the_granted_pattern_is_denied()
    {
        var (runtime, _) = Runtimes.Embedded(_home, o => o.Grant("db:read@orders_*"));
        await using var __ = runtime;
        bool ran = false;
        var ex = Assert.Throws<ActionDeniedException>(() => runtime.Invoke(ReadUsers, null, () => ran = true));
        Assert.False(ran);
        Assert.Equal("resource_not_granted", ex.ReasonCode);
    }

    [Fact]
    public async Task Unconfigured_runtime_refuses_every_shape_without_running_the_body()
    {
        AimRuntime.SetGlobal(null);
        var runtime = AimRuntime.Current;
        Assert.False(runtime.IsOperational);
        int ran = 0;

        Assert.Throws<AimConfigurationException>(() => runtime.Invoke(ReadUsers, null, () => { ran++; }));
        Assert.Throws<AimConfigurationException>(() => runtime.Invoke(ReadUsers, null, () => ++ran));
        await Assert.ThrowsAsync<AimConfigurationException>(() => runtime.InvokeAsync(ReadUsers, null, () => { ran++; return Task.CompletedTask; }));
        await Assert.ThrowsAsync<AimConfigurationException>(() => runtime.InvokeAsync(ReadUsers, null, () => Task.FromResult(++ran)));
        await Assert.ThrowsAsync<AimConfigurationException>(async () => await runtime.InvokeValueTaskAsync(ReadUsers, null, () => { ran++; return ValueTask.CompletedTask; }));
        await Assert.ThrowsAsync<AimConfigurationException>(async () => await runtime.InvokeValueTaskAsync(ReadUsers, null, () => ValueTask.FromResult(++ran)));
        Assert.Equal(0, ran);
    }

    [Fact]
    public async Task Jit_action_runs_after_approval_and_records_the_approver()
    {
        var (runtime, engine) = Runtimes.Embedded(_home, o =>
        {
            o.Grant("payment:*");
            o.ApprovalHandler = new DelegateApprovalHandler(r => new ApprovalDecision(true, "alice@example.com", "customer verified"));
        });
        await using var _ = runtime;

        var value = await runtime.InvokeAsync(Refund, ["o-1", 10m], () => Task.FromResult("refunded"));

        Assert.Equal("refunded", value);
        var authorized = engine.AuditLog.Read(0, 10).First(e => e.Record.Kind == AuditEntryKind.Authorized);
        Assert.Equal("alice@example.com", authorized.Record.Details?["approved_by"]?.GetValue<string>());
    }

    [Fact]
    public async Task Jit_denial_is_typed_and_the_body_does_not_run()
    {
        var (runtime, _) = Runtimes.Embedded(_home, o =>
        {
            o.Grant("payment:refund");
            o.ApprovalHandler = new DelegateApprovalHandler(r => new ApprovalDecision(false, "bob", "amount too high"));
        });
        await using var __ = runtime;
        bool ran = false;
        var ex = await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(Refund, ["o-1", 900m], () => { ran = true; return Task.CompletedTask; }));
        Assert.False(ran);
        Assert.Equal("approval_denied", ex.ReasonCode);
        Assert.Contains("amount too high", ex.Message);
    }

    [Fact]
    public async Task Jit_without_any_approver_is_denied_by_default()
    {
        var (runtime, _) = Runtimes.Embedded(_home, o => o.Grant("payment:refund"));
        await using var __ = runtime;
        bool ran = false;
        var ex = await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(Refund, ["o-1", 1m], () => { ran = true; return Task.CompletedTask; }));
        Assert.False(ran);
        Assert.Equal("no_approver", ex.ReasonCode);
    }

    [Fact]
    public async Task Jit_timeout_throws_ApprovalTimeoutException_and_records_it()
    {
        var clock = new ManualTimeProvider();
        var asked = new TaskCompletionSource();
        var (runtime, engine) = Runtimes.Embedded(_home, o =>
        {
            o.TimeProvider = clock;
            o.Grant("payment:refund");
            o.ApprovalHandler = new DelegateApprovalHandler(async (r, ct) =>
            {
                asked.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
                return new ApprovalDecision(true, "never");
            });
        });
        await using var _ = runtime;
        bool ran = false;

        var call = runtime.InvokeAsync(Refund, ["o-1", 1m], () => { ran = true; return Task.CompletedTask; });
        await asked.Task;
        clock.Advance(TimeSpan.FromSeconds(31));

        var ex = await Assert.ThrowsAsync<ApprovalTimeoutException>(() => call);
        Assert.False(ran);
        Assert.Equal("aim_approval_timeout", ex.Code);
        await engine.AuditLog.FlushAsync();
        Assert.Contains(engine.AuditLog.Read(0, 10), e => e.Record.ReasonCode == "approval_timeout");
    }

    [Fact]
    public async Task Rate_limit_denies_calls_over_the_limit_until_the_window_passes()
    {
        var clock = new ManualTimeProvider();
        var (runtime, _) = Runtimes.Embedded(_home, o =>
        {
            o.TimeProvider = clock;
            o.Grant("db:read");
            o.RateLimit("db:read", 2, TimeSpan.FromMinutes(1));
        });
        await using var __ = runtime;
        int ran = 0;

        runtime.Invoke(ReadUsers, null, () => ran++);
        runtime.Invoke(ReadUsers, null, () => ran++);
        var ex = Assert.Throws<ActionDeniedException>(() => runtime.Invoke(ReadUsers, null, () => ran++));
        Assert.Equal("rate_limited", ex.ReasonCode);
        Assert.Equal(2, ran);

        clock.Advance(TimeSpan.FromMinutes(1.5));
        runtime.Invoke(ReadUsers, null, () => ran++);
        Assert.Equal(3, ran);
    }

    [Fact]
    public async Task A_throwing_intent_check_denies_with_pipeline_error()
    {
        var (runtime, _) = Runtimes.Embedded(_home, o =>
        {
            o.Grant("user:delete");
            o.IntentCheck = new ThrowingIntentCheck();
        });
        await using var __ = runtime;
        bool ran = false;
        var ex = Assert.Throws<ActionDeniedException>(() => runtime.Invoke(DeleteUser, ["u-1"], () => ran = true));
        Assert.False(ran);
        Assert.Equal("pipeline_error", ex.ReasonCode);
    }

    [Fact]
    public async Task An_action_under_a_delegation_token_is_denied_when_nothing_can_verify_the_chain()
    {
        var (runtime, _) = Runtimes.Embedded(_home, o => o.Grant("db:read"));
        await using var __ = runtime;
        bool ran = false;
        using (AimDelegation.Use("some-token"))
        {
            var ex = Assert.Throws<ActionDeniedException>(() => runtime.Invoke(ReadUsers, null, () => ran = true));
            Assert.Equal("chain_unverifiable", ex.ReasonCode);
        }

        Assert.False(ran);
        Assert.Equal(7, runtime.Invoke(ReadUsers, null, () => 7));
    }

    [Fact]
    public async Task A_failing_body_propagates_and_is_recorded_as_an_error_outcome()
    {
        var (runtime, engine) = Runtimes.Embedded(_home, o => o.Grant("db:read"));
        await using var _ = runtime;

        Assert.Throws<InvalidOperationException>(() => runtime.Invoke(ReadUsers, null, () => throw new InvalidOperationException("boom")));

        await engine.AuditLog.FlushAsync();
        var outcome = engine.AuditLog.Read(0, 10).Single(e => e.Record.Kind == AuditEntryKind.Outcome);
        Assert.Equal("error", outcome.Record.Outcome);
        Assert.Contains("boom", outcome.Record.Error);
    }

    [Fact]
    public async Task Arguments_are_digested_but_not_stored_unless_the_action_opts_in()
    {
        var secretive = new ActionDescriptor("email:send", method: "Tests.Send(string)", parameterNames: ["body"]);
        var open = new ActionDescriptor("email:send", logArguments: true, method: "Tests.SendLogged(string)", parameterNames: ["body"]);
        var (runtime, engine) = Runtimes.Embedded(_home, o => o.Grant("email:send"));
        await using var _ = runtime;

        runtime.Invoke(secretive, ["password=hunter2"], () => { });
        runtime.Invoke(open, ["hello"], () => { });

        await engine.AuditLog.FlushAsync();
        var entries = engine.AuditLog.Read(0, 10);
        var hidden = entries.Where(e => e.Record.Method == "Tests.Send(string)").ToList();
        Assert.All(hidden, e => Assert.DoesNotContain("hunter2", System.Text.Encoding.UTF8.GetString(e.CanonicalBytes)));
        Assert.All(hidden, e => Assert.StartsWith("sha256:", e.Record.ArgumentsDigest));
        var shown = entries.First(e => e.Record.Method == "Tests.SendLogged(string)");
        Assert.Equal("hello", shown.Record.Arguments?["body"]?.GetValue<string>());
    }

    [Fact]
    public async Task Malformed_capability_is_refused_when_the_descriptor_is_built()
    {
        await Task.Yield();
        var ex = Assert.ThrowsAny<AimException>(() => new ActionDescriptor("Payment Refund"));
        Assert.Equal("aim_capability_malformed", ex.Code);
    }

    [Fact]
    public async Task After_the_engine_is_disposed_actions_fail_closed()
    {
        var (runtime, engine) = Runtimes.Embedded(_home, o => o.Grant("db:read"));
        await engine.DisposeAsync();
        bool ran = false;
        Assert.ThrowsAny<AimException>(() => runtime.Invoke(ReadUsers, null, () => ran = true));
        Assert.False(ran);
    }

    private sealed class ThrowingIntentCheck : IIntentCheck
    {
        public ValueTask<StepResult> CheckAsync(ActionRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("model file missing");
    }
}
