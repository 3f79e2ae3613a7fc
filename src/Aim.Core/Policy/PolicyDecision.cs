namespace Aim.Policy;

/// <summary>The answer of one policy check.</summary>
/// <param name="Allowed">Whether the check lets the action through.</param>
/// <param name="ReasonCode">When denied: one of the <see cref="PolicyReasonCodes"/> constants.</param>
/// <param name="Reason">When denied: a human-readable reason.</param>
public readonly record struct PolicyDecision(bool Allowed, string? ReasonCode, string? Reason)
{
    /// <summary>The allowed decision.</summary>
    public static PolicyDecision Allow => new(true, null, null);

    /// <summary>A denial with a stable code and a reason.</summary>
    public static PolicyDecision Deny(string reasonCode, string reason) => new(false, reasonCode, reason);
}

/// <summary>The stable reason codes of policy denials (they match <see cref="ActionDeniedException.ReasonCode"/>).</summary>
public static class PolicyReasonCodes
{
    /// <summary>No grant covers the capability.</summary>
    public const string CapabilityNotGranted = "capability_not_granted";

    /// <summary>A grant covers the capability but not the resource.</summary>
    public const string ResourceNotGranted = "resource_not_granted";

    /// <summary>A required attribute is missing or has another value.</summary>
    public const string AttributeMismatch = "attribute_mismatch";

    /// <summary>The time is outside every allowed window.</summary>
    public const string OutsideTimeWindow = "outside_time_window";

    /// <summary>A rate limit is exhausted.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The cost would exceed the budget.</summary>
    public const string BudgetExceeded = "budget_exceeded";
}
