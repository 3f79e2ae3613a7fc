using System.Text.Json.Nodes;
using Aim.Policy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim.Authorization;

/// <summary>
/// The one place an action is decided, in the order of the architecture: 1 capability (<see cref="CapabilityStep"/>),
/// 2 attributes (<see cref="AttributeStep"/>), 3 context: time windows, rate limits, budget (<see cref="ContextStep"/>),
/// 4 delegation chain (<see cref="ChainStep"/>), 5 intent (<see cref="IntentStep"/>), then JIT approval
/// (<see cref="ApprovalStep"/>). The embedded engine and the server feed it the same way: a policy source, the state of
/// rate limits and budgets, a chain verifier, an intent check and an approval channel; so an action gets the same decision
/// and reason code wherever it is decided.
/// </summary>
/// <remarks>
/// The decision is made in two halves so the server can commit step 3's state in the same transaction as the request
/// that used it: <see cref="EvaluateAsync"/> runs every stateless check (steps 1, 2, 3's time window, 4 and 5), then
/// <see cref="IContextLimits.TakeAsync"/> counts the call and reserves its cost, then <see cref="Conclude"/> picks the
/// first step that denies, in step order. A call counts against the rate limits once steps 1-2 and the time window pass,
/// whatever steps 4-5 say; its cost is reserved only when steps 4-5 let it through, and released again when the approval
/// is denied or times out. Steps 1-3 are synchronous and allocation-light, so an allowed low-risk action completes
/// without any asynchronous machinery.
/// </remarks>
public sealed class AuthorizationPipeline
{
    /// <summary>The decision detail (and so audit-entry detail) holding what an allowed call was charged, in US dollars;
    /// the embedded engine replays it from the log to restore spending after a restart.</summary>
    public const string CostDetail = "cost_usd";

    /// <summary>The decision detail holding what the agent has spent in the current budget period after the call.</summary>
    public const string SpentDetail = "spent_usd";

    private readonly IPolicySource _policies;
    private readonly IContextLimits _limits;
    private readonly IChainCheck? _chain;
    private readonly IIntentCheck? _intent;
    private readonly IApprovalHandler? _approvals;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the pipeline.</summary>
    /// <param name="policies">Where the agent's policy comes from.</param>
    /// <param name="limits">Step 3's state; null for a fresh <see cref="InMemoryContextLimits"/>.</param>
    /// <param name="chain">Step 4; when null, an action under a delegation token is denied <c>chain_unverifiable</c>.</param>
    /// <param name="intent">Step 5; skipped when null.</param>
    /// <param name="approvals">The approval channel of <see cref="AuthorizeAsync"/>; when null, approvals are denied <c>no_approver</c>.</param>
    /// <param name="timeProvider">The clock for approval timeouts.</param>
    /// <param name="logger">Diagnostics (never argument values).</param>
    public AuthorizationPipeline(IPolicySource policies, IContextLimits? limits = null, IChainCheck? chain = null, IIntentCheck? intent = null, IApprovalHandler? approvals = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        _policies = policies ?? throw new ArgumentNullException(nameof(policies));
        _limits = limits ?? new InMemoryContextLimits();
        _chain = chain;
        _intent = intent;
        _approvals = approvals;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Creates the pipeline over one fixed policy with in-memory limits (the embedded engine's shape).</summary>
    public AuthorizationPipeline(AgentPolicy policy, IChainCheck? chain = null, IIntentCheck? intent = null, IApprovalHandler? approvals = null, TimeProvider? timeProvider = null, ILogger? logger = null)
        : this(new FixedPolicySource(policy), null, chain, intent, approvals, timeProvider, logger)
    {
    }

    /// <summary>Step 3's state (rate limits and budget).</summary>
    public IContextLimits Limits => _limits;

    /// <summary>
    /// Runs every step and, when an approval is needed, asks the approval handler and waits for it: the whole decision of
    /// the embedded engine.
    /// </summary>
    /// <exception cref="ApprovalTimeoutException">A JIT approval did not arrive in time (any reserved cost is released).</exception>
    public ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        var decided = DecideAsync(request, cancellationToken);
        if (decided.IsCompletedSuccessfully && !decided.Result.NeedsApproval)
        {
            return decided;
        }

        return ApproveAsync(request, decided, cancellationToken);
    }

    /// <summary>
    /// Runs the five steps with this pipeline's policy source and limits, without waiting for an approval: the answer is
    /// allowed, denied, or <see cref="AuthorizationDecision.NeedsApproval"/> (with any cost reserved).
    /// </summary>
    public ValueTask<AuthorizationDecision> DecideAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var policy = _policies.PolicyForAsync(request, cancellationToken);
        if (!policy.IsCompletedSuccessfully)
        {
            return DecideSlowAsync(request, policy, cancellationToken);
        }

        var evaluation = EvaluateAsync(request, policy.Result, cancellationToken);
        if (!evaluation.IsCompletedSuccessfully)
        {
            return TakeAndConcludeAsync(evaluation, cancellationToken);
        }

        var done = evaluation.Result;
        if (!done.NeedsLimits)
        {
            return ValueTask.FromResult(Conclude(done, LimitResult.Free));
        }

        var taken = _limits.TakeAsync(new ContextLimitRequest(done.Policy, request, done.ReserveCost), cancellationToken);
        return taken.IsCompletedSuccessfully ? ValueTask.FromResult(Conclude(done, taken.Result)) : ConcludeAsync(done, taken);
    }

    /// <summary>
    /// The stateless half: steps 1, 2, 3's time window, 4 and 5 for <paramref name="request"/> under <paramref name="policy"/>.
    /// Steps stop at the first denial, so a later step never runs for a call an earlier one refused.
    /// </summary>
    public ValueTask<PipelineEvaluation> EvaluateAsync(ActionRequest request, AgentPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(policy);

        var check = CapabilityStep.Check(policy, request);
        if (!check.Allowed)
        {
            return ValueTask.FromResult(PipelineEvaluation.Refused(policy, request, Deny(AuthorizationStep.Capability, check)));
        }

        check = AttributeStep.Check(policy, request);
        if (!check.Allowed)
        {
            return ValueTask.FromResult(PipelineEvaluation.Refused(policy, request, Deny(AuthorizationStep.Attribute, check)));
        }

        check = ContextStep.CheckTime(policy, request);
        if (check.Allowed)
        {
            check = ContextStep.CheckCost(request);
        }

        if (!check.Allowed)
        {
            return ValueTask.FromResult(PipelineEvaluation.Refused(policy, request, Deny(AuthorizationStep.Context, check)));
        }

        bool needsLimits = ContextStep.NeedsLimits(policy, request);
        if (!ChainStep.Applies(request) && !IntentStep.Applies(_intent, request))
        {
            return ValueTask.FromResult(new PipelineEvaluation(policy, request, null, null, null, needsLimits));
        }

        return EvaluateLaterStepsAsync(policy, request, needsLimits, cancellationToken);
    }

    /// <summary>
    /// Picks the decision from an evaluation and step 3's state: the first step that denies, in step order; else an
    /// approval when the action requires one or a step stepped it up; else allowed (with its cost and spending in the details).
    /// </summary>
    public AuthorizationDecision Conclude(in PipelineEvaluation evaluation, LimitResult limits)
    {
        if (evaluation.Refusal is { } refusal)
        {
            return refusal;
        }

        var request = evaluation.Request;
        if (!limits.Allowed)
        {
            return new AuthorizationDecision(false, AuthorizationStep.Context, limits.ReasonCode ?? PolicyReasonCodes.RateLimited, limits.Reason ?? "A limit is exhausted.");
        }

        if (evaluation.Chain is { Allowed: false } chain)
        {
            return Deny(AuthorizationStep.Chain, chain);
        }

        if (evaluation.Intent is { Allowed: false } intent)
        {
            return Deny(AuthorizationStep.Intent, intent);
        }

        JsonObject? details = Merge(null, evaluation.Chain?.Details);
        details = Merge(details, evaluation.Intent?.Details);
        if (request.CostUsd != 0)
        {
            details ??= [];
            details[CostDetail] = request.CostUsd;
            if (limits.SpentUsd is { } spent)
            {
                details[SpentDetail] = spent;
            }
        }

        JsonObject? evidence = null;
        if (evaluation.Intent is { RequiresApproval: true } stepUp)
        {
            // An uncertain verdict is answered with a human, never a coin toss: the approver sees why.
            evidence = Merge(new JsonObject { ["step"] = "intent", ["reason_code"] = stepUp.ReasonCode, ["reason"] = stepUp.Reason }, stepUp.Details);
            details ??= [];
            details["step_up"] = "intent";
        }

        if (request.JitAccess || evidence is not null)
        {
            return ApprovalStep.Pending(request, details, evidence);
        }

        return details is null ? AuthorizationDecision.Allow : new AuthorizationDecision(true, Details: details);
    }

    /// <summary>Gives back what a pending decision reserved, when it ends without running (denied, timed out, abandoned).</summary>
    public async ValueTask ReleaseAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.CostUsd > 0)
        {
            var policy = await _policies.PolicyForAsync(request, cancellationToken).ConfigureAwait(false);
            await _limits.ReleaseAsync(policy, request, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<AuthorizationDecision> ApproveAsync(ActionRequest request, ValueTask<AuthorizationDecision> decided, CancellationToken cancellationToken)
    {
        var pending = await decided.ConfigureAwait(false);
        if (!pending.NeedsApproval)
        {
            return pending;
        }

        if (_approvals is null)
        {
            await ReleaseAsync(request, CancellationToken.None).ConfigureAwait(false);
            return ApprovalStep.NoApproverDecision(request, pending);
        }

        ApprovalDecision answer;
        try
        {
            answer = await ApprovalStep.WaitAsync(_approvals, request, pending.Evidence, _time, _logger, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Timed out, cancelled or failed: the action does not run, so its reservation goes back.
            await ReleaseAsync(request, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var final = ApprovalStep.Resolve(request, pending, answer);
        if (!final.Allowed)
        {
            await ReleaseAsync(request, CancellationToken.None).ConfigureAwait(false);
        }

        return final;
    }

    private async ValueTask<AuthorizationDecision> DecideSlowAsync(ActionRequest request, ValueTask<AgentPolicy> policy, CancellationToken cancellationToken)
    {
        var evaluation = await EvaluateAsync(request, await policy.ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        return await TakeAndConcludeAsync(ValueTask.FromResult(evaluation), cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<AuthorizationDecision> TakeAndConcludeAsync(ValueTask<PipelineEvaluation> evaluating, CancellationToken cancellationToken)
    {
        var evaluation = await evaluating.ConfigureAwait(false);
        var limits = evaluation.NeedsLimits
            ? await _limits.TakeAsync(new ContextLimitRequest(evaluation.Policy, evaluation.Request, evaluation.ReserveCost), cancellationToken).ConfigureAwait(false)
            : LimitResult.Free;
        return Conclude(evaluation, limits);
    }

    private async ValueTask<AuthorizationDecision> ConcludeAsync(PipelineEvaluation evaluation, ValueTask<LimitResult> taking) =>
        Conclude(evaluation, await taking.ConfigureAwait(false));

    private async ValueTask<PipelineEvaluation> EvaluateLaterStepsAsync(AgentPolicy policy, ActionRequest request, bool needsLimits, CancellationToken cancellationToken)
    {
        StepResult? chain = null;
        if (ChainStep.Applies(request))
        {
            chain = await ChainStep.CheckAsync(_chain, request, cancellationToken).ConfigureAwait(false);
            if (!chain.Allowed)
            {
                return new PipelineEvaluation(policy, request, null, chain, null, needsLimits);
            }
        }

        StepResult? intent = null;
        if (IntentStep.Applies(_intent, request))
        {
            // The policy's own thresholds travel with the request, so every intent check reads them the same way.
            var asked = policy.Intent is null || request.IntentPolicy is not null ? request : request with { IntentPolicy = policy.Intent };
            intent = await IntentStep.CheckAsync(_intent!, asked, cancellationToken).ConfigureAwait(false);
        }

        return new PipelineEvaluation(policy, request, null, chain, intent, needsLimits);
    }

    private static AuthorizationDecision Deny(AuthorizationStep step, PolicyDecision decision) =>
        new(false, step, decision.ReasonCode ?? "denied", decision.Reason ?? "denied");

    private static AuthorizationDecision Deny(AuthorizationStep step, StepResult result) =>
        new(false, step, result.ReasonCode ?? "denied", result.Reason ?? "denied", Details: result.Details);

    private static JsonObject? Merge(JsonObject? into, JsonObject? from)
    {
        if (from is null)
        {
            return into;
        }

        into ??= [];
        foreach (var (key, value) in from)
        {
            into[key] = value?.DeepClone();
        }

        return into;
    }
}

/// <summary>What the stateless steps said about one call (see <see cref="AuthorizationPipeline.EvaluateAsync"/>).</summary>
/// <param name="Policy">The policy the call was evaluated under.</param>
/// <param name="Request">The call.</param>
/// <param name="Refusal">The denial of step 1, 2 or 3's time window, if any (then nothing else ran and no limit is taken).</param>
/// <param name="Chain">Step 4's answer, when it ran.</param>
/// <param name="Intent">Step 5's answer, when it ran.</param>
/// <param name="NeedsLimits">Whether step 3's state is involved (a matching rate limit, or a cost under a budget).</param>
public readonly record struct PipelineEvaluation(AgentPolicy Policy, ActionRequest Request, AuthorizationDecision? Refusal, StepResult? Chain, StepResult? Intent, bool NeedsLimits)
{
    /// <summary>An evaluation that stopped at a denial of step 1, 2 or 3.</summary>
    public static PipelineEvaluation Refused(AgentPolicy policy, ActionRequest request, AuthorizationDecision refusal) =>
        new(policy, request, refusal, null, null, false);

    /// <summary>Whether the call's cost is to be reserved: steps 4 and 5 let it through.</summary>
    public bool ReserveCost => Refusal is null && Chain is not { Allowed: false } && Intent is not { Allowed: false } && Request.CostUsd > 0;
}
