using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Aim.Authorization;

/// <summary>
/// After the five steps: a human approval (JIT) when the action requires one (<see cref="ActionRequest.JitAccess"/>) or
/// a step stepped it up. The embedded engine asks an <see cref="IApprovalHandler"/> and waits; the server stores a
/// pending verification that an approver decides through the API, the CLI or the dashboard. Either way the answer is
/// turned into the final decision here: approved (with the approver) or <c>approval_denied</c>.
/// </summary>
public static class ApprovalStep
{
    /// <summary>The reason code of a decision that waits for an approval.</summary>
    public const string Required = "approval_required";

    /// <summary>The reason code when a human denies the action.</summary>
    public const string Denied = "approval_denied";

    /// <summary>The reason code when an approval is needed and nobody can give it.</summary>
    public const string NoApprover = "no_approver";

    /// <summary>The reason code when no approval arrived in time.</summary>
    public const string Timeout = "approval_timeout";

    /// <summary>The decision that an approval is needed; <paramref name="evidence"/> says why when a step asked for it.</summary>
    public static AuthorizationDecision Pending(ActionRequest request, JsonObject? details, JsonObject? evidence) =>
        new(false, AuthorizationStep.Approval, Required,
            evidence is null ? $"'{request.Capability}' needs a JIT approval." : $"'{request.Capability}' was stepped up to a human approval by the {evidence["step"]} check.",
            Details: details)
        { NeedsApproval = true, Evidence = evidence };

    /// <summary>The decision when an approval is needed and no approver is configured.</summary>
    public static AuthorizationDecision NoApproverDecision(ActionRequest request, AuthorizationDecision pending) =>
        new(false, AuthorizationStep.Approval, NoApprover,
            $"'{request.Capability}' needs a JIT approval and no approval handler is configured.", Details: pending.Details) { Evidence = pending.Evidence };

    /// <summary>Turns an approver's answer to a pending decision into the final decision.</summary>
    public static AuthorizationDecision Resolve(ActionRequest request, AuthorizationDecision pending, ApprovalDecision answer)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(answer);
        var details = (JsonObject?)pending.Details?.DeepClone() ?? [];
        details["approver"] = answer.Approver;
        if (answer.Reason is not null)
        {
            details["approval_reason"] = answer.Reason;
        }

        return answer.Approved
            ? new AuthorizationDecision(true, ApprovedBy: answer.Approver, Details: details)
            : new AuthorizationDecision(false, AuthorizationStep.Approval, Denied,
                $"{answer.Approver} denied '{request.Capability}'" + (answer.Reason is null ? "." : $": {answer.Reason}"), Details: details);
    }

    /// <summary>Asks <paramref name="approvals"/> and waits until it answers, the action's JIT timeout passes, or the caller gives up.</summary>
    /// <exception cref="ApprovalTimeoutException">No answer within <see cref="ActionRequest.JitTimeout"/>.</exception>
    public static async ValueTask<ApprovalDecision> WaitAsync(IApprovalHandler approvals, ActionRequest request, JsonObject? evidence, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(approvals);
        var timeout = request.JitTimeout;
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            logger.LogInformation("Waiting up to {Timeout} for approval of {Capability}", timeout, request.Capability);
            return await approvals.RequestApprovalAsync(new ApprovalRequest(request, timeout, evidence), linked.Token)
                .AsTask().WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ApprovalTimeoutException(request.Capability.ToString(), timeout);
        }
    }
}
