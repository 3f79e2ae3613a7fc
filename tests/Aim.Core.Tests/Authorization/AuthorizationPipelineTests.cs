using System.Text.Json.Nodes;
using Aim.Authorization;
using Aim.Capabilities;
using Aim.Identity;
using Aim.Policy;

namespace Aim.Core.Tests.Authorization;

/// <summary>The one decider: step order, step 3's state (counted, reserved, released) and the approval stage.</summary>
public sealed class AuthorizationPipelineTests
{
    private static readonly DateTimeOffset Monday10 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    private static readonly AgentKey Key = AgentKey.Generate("pipeline-agent");

    private static ActionRequest Request(string capability, decimal cost = 0, bool jit = false, string? token = null, bool requireToken = false, RiskLevel risk = RiskLevel.Low) => new()
    {
        ActionId = Guid.NewGuid().ToString("N"),
        Agent = Key.Identity,
        Capability = Capability.Parse(capability),
        Risk = risk,
        JitAccess = jit,
        CostUsd = cost,
        DelegationToken = token,
        RequireDelegation = requireToken,
        Time = Monday10,
    };

    private static AgentPolicy Policy(Action<AgentPolicy.Builder> configure)
    {
        var builder = new AgentPolicy.Builder("pipeline-agent");
        configure(builder);
        return builder.Build();
    }

    [Fact]
    public async Task First_failing_step_names_the_decision_in_step_order()
    {
        // Not granted AND rate limited AND under a token nothing can verify: step 1 wins.
        var policy = Policy(b => b.Grant("db:read").RateLimit("*", 1, TimeSpan.FromMinutes(1)));
        var pipeline = new AuthorizationPipeline(policy);
        var denied = await pipeline.AuthorizeAsync(Request("email:send", token: "x"), default);
        Assert.Equal((AuthorizationStep.Capability, "capability_not_granted"), (denied.Step!.Value, denied.ReasonCode));

        // Granted; the first call passes step 3 and is stopped by step 4 (still counted), the second is rate limited before step 4.
        var chained = await pipeline.AuthorizeAsync(Request("db:read", token: "x"), default);
        Assert.Equal((AuthorizationStep.Chain, ChainStep.Unverifiable), (chained.Step!.Value, chained.ReasonCode));
        var limited = await pipeline.AuthorizeAsync(Request("db:read", token: "x"), default);
        Assert.Equal((AuthorizationStep.Context, "rate_limited"), (limited.Step!.Value, limited.ReasonCode));
    }

    [Fact]
    public async Task A_front_door_that_demands_a_token_is_refused_without_one()
    {
        var pipeline = new AuthorizationPipeline(Policy(b => b.Grant("db:read")));
        var denied = await pipeline.AuthorizeAsync(Request("db:read", requireToken: true), default);
        Assert.Equal((AuthorizationStep.Chain, ChainStep.TokenMissing), (denied.Step!.Value, denied.ReasonCode));
        Assert.True((await pipeline.AuthorizeAsync(Request("db:read"), default)).Allowed);
    }

    [Fact]
    public async Task Cost_is_reserved_only_when_later_steps_allow_and_released_when_the_approval_is_denied()
    {
        var policy = Policy(b => b.Grant("web:search").Budget(1m));
        bool approve = false;
        var pipeline = new AuthorizationPipeline(policy, approvals: new Approver(_ => approve));
        var limits = (InMemoryContextLimits)pipeline.Limits;

        // Denied by step 4: nothing reserved.
        Assert.False((await pipeline.AuthorizeAsync(Request("web:search", cost: 0.6m, token: "x"), default)).Allowed);
        Assert.Equal(0m, limits.SpentUsd(policy, Monday10));

        // A JIT call reserves, the approver denies, the reservation goes back.
        var denied = await pipeline.AuthorizeAsync(Request("web:search", cost: 0.6m, jit: true), default);
        Assert.Equal(ApprovalStep.Denied, denied.ReasonCode);
        Assert.Equal(0m, limits.SpentUsd(policy, Monday10));

        approve = true;
        var allowed = await pipeline.AuthorizeAsync(Request("web:search", cost: 0.6m, jit: true), default);
        Assert.True(allowed.Allowed);
        Assert.Equal(0.6m, allowed.Details![AuthorizationPipeline.SpentDetail]!.GetValue<decimal>());
        var over = await pipeline.AuthorizeAsync(Request("web:search", cost: 0.6m), default);
        Assert.Equal((AuthorizationStep.Context, "budget_exceeded"), (over.Step!.Value, over.ReasonCode));
    }

    [Fact]
    public async Task Approval_timeout_releases_the_reservation()
    {
        var policy = Policy(b => b.Grant("web:search").Budget(1m));
        var pipeline = new AuthorizationPipeline(policy, approvals: new NeverAnswers());
        var request = Request("web:search", cost: 0.6m, jit: true) with { JitTimeout = TimeSpan.FromMilliseconds(50) };
        await Assert.ThrowsAsync<ApprovalTimeoutException>(() => pipeline.AuthorizeAsync(request, default).AsTask());
        Assert.Equal(0m, ((InMemoryContextLimits)pipeline.Limits).SpentUsd(policy, Monday10));
    }

    [Fact]
    public async Task A_step_up_waits_for_an_approver_who_sees_the_evidence()
    {
        var policy = Policy(b => b.Grant("shell:exec"));
        ApprovalRequest? seen = null;
        var pipeline = new AuthorizationPipeline(policy, intent: new SteppingUp(), approvals: new Approver(r => { seen = r; return false; }));

        var pending = await pipeline.DecideAsync(Request("shell:exec", risk: RiskLevel.High), default);
        Assert.True(pending.NeedsApproval);
        Assert.Equal(ApprovalStep.Required, pending.ReasonCode);
        Assert.Equal("intent", pending.Evidence!["step"]!.GetValue<string>());

        var denied = await pipeline.AuthorizeAsync(Request("shell:exec", risk: RiskLevel.High), default);
        Assert.Equal(ApprovalStep.Denied, denied.ReasonCode);
        Assert.Equal("uncertain", seen!.Evidence!["reason_code"]!.GetValue<string>());
        Assert.Equal(0.7, seen.Evidence["score"]!.GetValue<double>());

        // Without an approver a step-up cannot pass.
        var alone = new AuthorizationPipeline(policy, intent: new SteppingUp());
        Assert.Equal(ApprovalStep.NoApprover, (await alone.AuthorizeAsync(Request("shell:exec", risk: RiskLevel.High), default)).ReasonCode);
    }

    private sealed class Approver(Func<ApprovalRequest, bool> decide) : IApprovalHandler
    {
        public ValueTask<ApprovalDecision> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new ApprovalDecision(decide(request), "tester"));
    }

    private sealed class NeverAnswers : IApprovalHandler
    {
        public async ValueTask<ApprovalDecision> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    private sealed class SteppingUp : IIntentCheck
    {
        public ValueTask<StepResult> CheckAsync(ActionRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(StepResult.StepUp("uncertain", "The classifier is not sure.", new JsonObject { ["score"] = 0.7 }));
    }
}
