using System.Text.Json.Nodes;

namespace Aim.Audit;

/// <summary>
/// What the runtime hands to <see cref="AuditLog.AppendAsync"/>. The log adds the index, the time, the agent's
/// public key and the agent's signature. Null members are omitted from the entry's JSON. Raw
/// <see cref="Arguments"/> and <see cref="Result"/> belong here only when the action opts in; otherwise record
/// <see cref="ArgumentsDigest"/> alone.
/// </summary>
public sealed record AuditRecord
{
    /// <summary>Correlates the <c>authorized</c> entry of an action with its <c>outcome</c> entry.</summary>
    public required string ActionId { get; init; }

    /// <summary>What this entry records.</summary>
    public required AuditEntryKind Kind { get; init; }

    /// <summary>The agent's id (a UUID string).</summary>
    public required string AgentId { get; init; }

    /// <summary>The agent's name.</summary>
    public required string AgentName { get; init; }

    /// <summary>The capability the action needs, for example <c>db:read</c>.</summary>
    public required string Capability { get; init; }

    /// <summary>The resource the action touches, if any.</summary>
    public string? Resource { get; init; }

    /// <summary>The action's risk level.</summary>
    public required RiskLevel Risk { get; init; }

    /// <summary>The authorization decision: <c>allow</c> or <c>deny</c>.</summary>
    public required string Decision { get; init; }

    /// <summary>The stable code of the rule behind the decision, for example <c>capability_not_granted</c>.</summary>
    public string? ReasonCode { get; init; }

    /// <summary>A human-readable reason for the decision.</summary>
    public string? Reason { get; init; }

    /// <summary>For outcome entries: <c>success</c>, <c>error</c> or <c>cancelled</c>.</summary>
    public string? Outcome { get; init; }

    /// <summary>For failed bodies: the exception type name and message.</summary>
    public string? Error { get; init; }

    /// <summary>How long the action ran, in milliseconds.</summary>
    public double? DurationMs { get; init; }

    /// <summary>A digest of the arguments, <c>sha256:&lt;hex&gt;</c>.</summary>
    public string? ArgumentsDigest { get; init; }

    /// <summary>The raw arguments, only when the action opts in.</summary>
    public JsonNode? Arguments { get; init; }

    /// <summary>The raw result, only when the action opts in.</summary>
    public JsonNode? Result { get; init; }

    /// <summary>The delegation principal the agent acted for, if any.</summary>
    public string? OnBehalfOf { get; init; }

    /// <summary>The method that was called, if known.</summary>
    public string? Method { get; init; }

    /// <summary>Extension data (intent verdict, approver, ...).</summary>
    public JsonObject? Details { get; init; }
}
