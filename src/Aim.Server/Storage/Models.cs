namespace Aim.Server.Storage;

/// <summary>API key roles.</summary>
internal static class Roles
{
    public const string Admin = "admin";
    public const string Approver = "approver";
    public const string Auditor = "auditor";
    public const string Registrar = "registrar";

    public static bool IsValid(string? role) => role is Admin or Approver or Auditor or Registrar;
}

/// <summary>Agent statuses.</summary>
internal static class AgentStatus
{
    public const string Active = "active";
    public const string Suspended = "suspended";
    public const string Revoked = "revoked";
}

/// <summary>Verification and request statuses.</summary>
internal static class DecisionStatus
{
    public const string Approved = "approved";
    public const string Denied = "denied";
    public const string Pending = "pending";
    public const string Expired = "expired";
    public const string Rejected = "rejected";
}

internal sealed record OrgRow(string Id, string Name, long Created);

internal sealed record ApiKeyRow(string Id, string OrgId, string Name, string Role, byte[] Hash, bool IsSystem, long Created, long? Revoked);

internal sealed record AgentRow(string Id, string OrgId, string Name, string Status, string? Description, string? Isolation, long Created, long Updated);

internal sealed record AgentKeyRow(string KeyId, string AgentId, string OrgId, byte[] PublicKey, long Created, long? NotAfter);

internal sealed record GrantRow(string Id, string AgentId, string Pattern, long Created, string CreatedBy);

internal sealed record CapabilityRequestRow(string Id, string OrgId, string AgentId, string Capability, string? Reason, string Status, long Created, string? DecidedBy, long? Decided, string? DecisionReason);

internal sealed record VerificationRow(
    string Id, string OrgId, string AgentId, string ActionId, string Capability, string? Resource, string Risk, string? Method,
    string Status, string? ReasonCode, string? Reason, string? DecidedBy, string? DecisionReason, long Created, long Expires, long? Decided,
    string? Outcome, long? OutcomeAt)
{
    /// <summary>The pipeline step that denied (capability, attribute, context, chain, intent, approval), or that a pending row waits in.</summary>
    public string? Step { get; init; }

    /// <summary>What the call costs in US dollars (invariant decimal text), when it declares a cost.</summary>
    public string? CostUsd { get; init; }

    /// <summary>Whether the cost is reserved against the budget (released again when the approval is denied or expires).</summary>
    public bool Reserved { get; init; }

    /// <summary>The budget period a reservation belongs to (see <c>DatabaseLimits.PeriodOf</c>), or null when nothing is reserved.</summary>
    public long? BudgetPeriod { get; init; }

    /// <summary>The decision's details as JSON (cost and spending, chain, intent verdict), or null.</summary>
    public string? Details { get; init; }

    /// <summary>Why a step asked for a human approval (a step-up), as JSON shown to the approver, or null.</summary>
    public string? Evidence { get; init; }
}

internal sealed record McpServerRow(string Id, string OrgId, string Name, string Url, byte[] PublicKey, byte[] Challenge, long? Attested, long Created);

internal sealed record AuditEntryRow(string OrgId, long Index, long Time, string? AgentId, string Kind, string? Capability, string? Decision, string? ActionId, byte[] Body, byte[] Leaf);

/// <summary>What storing a verification did.</summary>
internal enum VerificationWrite
{
    /// <summary>The nonce and the verification are committed.</summary>
    Stored,

    /// <summary>The nonce was used before: nothing was stored.</summary>
    NonceReplayed,

    /// <summary>An agent, key or grant changed after the decision's data was read: nothing was stored; decide again.</summary>
    AgentChanged,
}
