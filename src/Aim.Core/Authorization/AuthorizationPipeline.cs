using System.Text.Json.Nodes;
using Aim.Policy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim.Authorization;

/// <summary>
/// The embedded engine's decision path, in the order of the architecture: 1 capability, 2 attributes,
/// 3 context (time windows, rate limits), 4 delegation chain, 5 intent (high and critical only), then JIT
/// approval; last, an allowed action with a cost is charged against the agent's budget (denied with
/// <c>budget_exceeded</c> when it does not fit, nothing charged). Steps 1-3 are synchronous and allocation-light,
/// so an allowed low-risk action completes without any asynchronous machinery.
/// </summary>
public sealed class AuthorizationPipeline
{
    private readonly AgentPolicy _policy;
    private readonly RateLimiter? _rateLimiter;
    private readonly IChainCheck? _chain;
    private readonly IIntentCheck? _intent;
    private readonly IApprovalHandler? _approvals;
    private readonly BudgetLedger? _budget;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the pipeline.</summary>
    /// <param name="policy">The agent's grants, attribute rules and time windows.</param>
    /// <param name="rateLimiter">Rate limits (none when null).</param>
    /// <param name="chain">Step 4; when null, an action under a delegation token is denied because nothing can verify it.</param>
    /// <param name="intent">Step 5; skipped when null.</param>
    /// <param name="approvals">Decides JIT approvals; when null they are denied.</param>
    /// <param name="timeProvider">The clock used for approval timeouts.</param>
    /// <param name="logger">Diagnostics (never argument values).</param>
    /// <param name="budget">Where spending is charged; when null and the policy has a budget, the pipeline keeps its own
    /// in-memory ledger (seed it from earlier spending with <see cref="BudgetLedger.Record"/>).</param>
    public AuthorizationPipeline(AgentPolicy policy, RateLimiter? rateLimiter = null, IChainCheck? chain = null, IIntentCheck? intent = null, IApprovalHandler? approvals = null, TimeProvider? timeProvider = null, ILogger? logger = null, BudgetLedger? budget = null)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _rateLimiter = rateLimiter;
        _chain = chain;
        _intent = intent;
        _approvals = approvals;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _budget = budget ?? (policy.Budget is null ? null : new BudgetLedger([policy]));
    }

    /// <summary>The decision detail (and so audit-entry detail) holding what an allowed call was charged, in US dollars;
    /// the embedded engine replays it from the log to restore spending after a restart.</summary>
    internal const string CostDetail = "cost_usd";

    /// <summary>Runs every step for one request.</summary>
    /// <exception cref="ApprovalTimeoutException">A JIT approval did not arrive in time.</exception>
    public ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        var capability = _policy.CheckCapability(request.Capability, request.Resource);
        if (!capability.Allowed)
        {
            return ValueTask.FromResult(Deny(AuthorizationStep.Capability, capability));
        }

        var attributes = _policy.CheckAttributes(request.Attributes);
        if (!attributes.Allowed)
        {
            return ValueTask.FromResult(Deny(AuthorizationStep.Attribute, attributes));
        }

        var window = _policy.CheckTimeWindow(request.Time);
        if (!window.Allowed)
        {
            return ValueTask.FromResult(Deny(AuthorizationStep.Context, window));
        }

        if (_rateLimiter is not null && !_rateLimiter.TryAcquire(request.Agent.Name, request.Capability, request.Time, out var retryAfter))
        {
            return ValueTask.FromResult(new AuthorizationDecision(false, AuthorizationStep.Context, "rate_limited",
                $"Rate limit reached for '{request.Capability}'; retry after {retryAfter.TotalSeconds:0.#} s."));
        }

        bool needsChain = request.DelegationToken is not null;
        bool needsIntent = _intent is not null && request.Risk >= RiskLevel.Medium;
        if (!needsChain && !needsIntent && !request.JitAccess)
        {
            return ValueTask.FromResult(request.CostUsd == 0 ? AuthorizationDecision.Allow : Charge(request, null, null));
        }

        return SlowPathAsync(request, needsChain, needsIntent, cancellationToken);
    }

    private async ValueTask<AuthorizationDecision> SlowPathAsync(ActionRequest request, bool needsChain, bool needsIntent, CancellationToken cancellationToken)
    {
        JsonObject? details = null;
        if (needsChain)
        {
            if (_chain is null)
            {
                return new AuthorizationDecision(false, AuthorizationStep.Chain, "chain_unverifiable",
                    "The action runs under a delegation token but no chain verifier is configured.");
            }

            var chain = await _chain.CheckAsync(request, cancellationToken).ConfigureAwait(false);
            if (!chain.Allowed)
            {
                return Deny(AuthorizationStep.Chain, chain);
            }

            details = Merge(details, chain.Details);
        }

        JsonObject? evidence = null;
        if (needsIntent)
        {
            var intent = await _intent!.CheckAsync(request, cancellationToken).ConfigureAwait(false);
            if (!intent.Allowed)
            {
                return Deny(AuthorizationStep.Intent, intent);
            }

            details = Merge(details, intent.Details);
            if (intent.RequiresApproval)
            {
                // An uncertain verdict is answered with a human, never a coin toss: the approver sees why.
                evidence = Merge(new JsonObject { ["step"] = "intent", ["reason_code"] = intent.ReasonCode, ["reason"] = intent.Reason }, intent.Details);
                details ??= [];
                details["step_up"] = "intent";
            }
        }

        if (!request.JitAccess && evidence is null)
        {
            return Charge(request, details, null);
        }

        if (_approvals is null)
        {
            return new AuthorizationDecision(false, AuthorizationStep.Approval, "no_approver",
                $"'{request.Capability}' needs a JIT approval and no approval handler is configured.", Details: details);
        }

        var approval = await WaitForApprovalAsync(request, evidence, cancellationToken).ConfigureAwait(false);
        details ??= [];
        details["approver"] = approval.Approver;
        if (approval.Reason is not null)
        {
            details["approval_reason"] = approval.Reason;
        }

        return approval.Approved
            ? Charge(request, details, approval.Approver)
            : new AuthorizationDecision(false, AuthorizationStep.Approval, "approval_denied",
                $"{approval.Approver} denied '{request.Capability}'" + (approval.Reason is null ? "." : $": {approval.Reason}"), Details: details);
    }

    private async ValueTask<ApprovalDecision> WaitForApprovalAsync(ActionRequest request, JsonObject? evidence, CancellationToken cancellationToken)
    {
        var timeout = request.JitTimeout;
        using var timeoutSource = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            _logger.LogInformation("Waiting up to {Timeout} for approval of {Capability}", timeout, request.Capability);
            return await _approvals!.RequestApprovalAsync(new ApprovalRequest(request, timeout, evidence), linked.Token)
                .AsTask().WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ApprovalTimeoutException(request.Capability.ToString(), timeout);
        }
    }

    /// <summary>The last step of an allowed action: charge its cost (if any) to the budget (if any).</summary>
    private AuthorizationDecision Charge(ActionRequest request, JsonObject? details, string? approvedBy)
    {
        if (request.CostUsd != 0)
        {
            if (request.CostUsd < 0)
            {
                return new AuthorizationDecision(false, AuthorizationStep.Context, PolicyReasonCodes.BudgetExceeded,
                    $"'{request.Capability}' declares a negative cost ({request.CostUsd}), which is not accepted.", Details: details);
            }

            details ??= [];
            details[CostDetail] = request.CostUsd;
            if (_budget is not null)
            {
                var charged = _budget.TryCharge(request.Agent.Name, request.CostUsd, request.Time);
                if (!charged.Allowed)
                {
                    return new AuthorizationDecision(false, AuthorizationStep.Context, charged.ReasonCode ?? PolicyReasonCodes.BudgetExceeded,
                        charged.Reason ?? "The budget is exhausted.", Details: details);
                }

                details["spent_usd"] = _budget.SpentUsd(request.Agent.Name, request.Time);
            }
        }

        return details is null && approvedBy is null ? AuthorizationDecision.Allow : new AuthorizationDecision(true, ApprovedBy: approvedBy, Details: details);
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
