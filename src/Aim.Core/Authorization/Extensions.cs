using System.Text.Json.Nodes;

namespace Aim.Authorization;

/// <summary>
/// Step 4 of the call path: verifies the delegation token an action runs under and that it covers the
/// action's capability. Implemented by Aim.Tokens.
/// </summary>
public interface IChainCheck
{
    /// <summary>Checks <see cref="ActionRequest.DelegationToken"/> against the request; never throws for a bad token (deny instead).</summary>
    ValueTask<StepResult> CheckAsync(ActionRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// Step 5 of the call path: looks at what a high or critical action is about to do and allows it, steps it up to a
/// human approval (<see cref="StepResult.StepUp"/>) or denies it.
/// </summary>
public interface IIntentCheck
{
    /// <summary>Classifies the request; a denial or step-up carries the class and explanation in <see cref="StepResult.Details"/>.</summary>
    ValueTask<StepResult> CheckAsync(ActionRequest request, CancellationToken cancellationToken);
}

/// <summary>What an approver sees.</summary>
/// <param name="Action">The action waiting for approval.</param>
/// <param name="Timeout">How long the call waits before it fails with <see cref="ApprovalTimeoutException"/>.</param>
/// <param name="Evidence">Why a step asked for this approval when the action itself does not require one (for example
/// the intent check's class, score and evidence on a step-up); null for a plain JIT action.</param>
public sealed record ApprovalRequest(ActionRequest Action, TimeSpan Timeout, JsonObject? Evidence = null);

/// <summary>A human's answer to an approval request.</summary>
/// <param name="Approved">Whether the action may run.</param>
/// <param name="Approver">Who decided (name, e-mail or key id).</param>
/// <param name="Reason">Why, when given.</param>
public sealed record ApprovalDecision(bool Approved, string Approver, string? Reason = null);

/// <summary>
/// Decides JIT approvals in the embedded engine. With no handler configured, every action that needs
/// approval is denied (<c>no_approver</c>).
/// </summary>
public interface IApprovalHandler
{
    /// <summary>
    /// Asks for a decision. The token is cancelled when the approval times out or the caller gives up;
    /// an implementation should stop waiting then.
    /// </summary>
    ValueTask<ApprovalDecision> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken);
}
