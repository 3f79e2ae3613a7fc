using System.Text.Json.Nodes;

namespace Aim.Authorization;

/// <summary>The steps of the call path, in the order they run.</summary>
public enum AuthorizationStep
{
    /// <summary>1: the capability (and resource) is granted to the agent.</summary>
    Capability = 1,

    /// <summary>2: agent and environment attributes satisfy the policy.</summary>
    Attribute = 2,

    /// <summary>3: time windows, rate and budget limits.</summary>
    Context = 3,

    /// <summary>4: the delegation chain (if the action runs under a token) covers the action.</summary>
    Chain = 4,

    /// <summary>5: the intent check for high and critical actions.</summary>
    Intent = 5,

    /// <summary>JIT approval by a human.</summary>
    Approval = 6,

    /// <summary>The pipeline itself failed; the action is denied (fail closed).</summary>
    Pipeline = 7,
}

/// <summary>The result of one step: allowed, allowed only after a human approves (step-up), or denied with a stable reason code.</summary>
/// <param name="Allowed">Whether the step lets the action through (a step-up is allowed, on the condition of an approval).</param>
/// <param name="ReasonCode">A stable code when denied or stepped up.</param>
/// <param name="Reason">A human-readable reason.</param>
/// <param name="Details">Optional structured details for the audit entry (and, for a step-up, the evidence the approver sees).</param>
public sealed record StepResult(bool Allowed, string? ReasonCode = null, string? Reason = null, JsonObject? Details = null)
{
    /// <summary>The shared "allowed" result.</summary>
    public static StepResult Allow { get; } = new(true);

    /// <summary>
    /// True when the step lets the action through only after a human approves it (JIT approval), whether or not the action
    /// itself asks for one: the answer to an uncertain verdict. <see cref="Details"/> is shown to the approver.
    /// </summary>
    public bool RequiresApproval { get; init; }

    /// <summary>A denial.</summary>
    public static StepResult Deny(string reasonCode, string reason, JsonObject? details = null) => new(false, reasonCode, reason, details);

    /// <summary>A step-up: the action may run once a human approves it, seeing <paramref name="evidence"/>.</summary>
    public static StepResult StepUp(string reasonCode, string reason, JsonObject? evidence = null) =>
        new(true, reasonCode, reason, evidence) { RequiresApproval = true };
}

/// <summary>The outcome of the whole authorization pipeline.</summary>
/// <param name="Allowed">Whether the action may run.</param>
/// <param name="Step">The step that denied it (null when allowed).</param>
/// <param name="ReasonCode">The stable reason code of a denial.</param>
/// <param name="Reason">A human-readable reason.</param>
/// <param name="ApprovedBy">Who approved a JIT action, if one was needed.</param>
/// <param name="Details">Structured details for the audit entry (intent verdict, approval, ...).</param>
public sealed record AuthorizationDecision(
    bool Allowed,
    AuthorizationStep? Step = null,
    string? ReasonCode = null,
    string? Reason = null,
    string? ApprovedBy = null,
    JsonObject? Details = null)
{
    /// <summary>An allowed decision with nothing else to say.</summary>
    public static AuthorizationDecision Allow { get; } = new(true);

    /// <summary>
    /// True when the five steps let the action through on the condition of a human approval (JIT, or a step-up): not
    /// allowed yet, <see cref="Step"/> is <see cref="AuthorizationStep.Approval"/> and <see cref="ReasonCode"/> is
    /// <c>approval_required</c>. The embedded pipeline waits for the approval itself; the server stores it as pending.
    /// </summary>
    public bool NeedsApproval { get; init; }

    /// <summary>Why a step asked for the approval (for example the intent check's verdict), shown to the approver; null for plain JIT.</summary>
    public JsonObject? Evidence { get; init; }
}
