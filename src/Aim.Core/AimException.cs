namespace Aim;

/// <summary>
/// Base of every error Aim raises on purpose. <see cref="Code"/> is stable across versions and safe to
/// match on; the message is for people.
/// </summary>
public class AimException : Exception
{
    /// <summary>Creates an exception with a stable code.</summary>
    public AimException(string code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    /// <summary>The stable, machine-readable error code (for example <c>aim_action_denied</c>).</summary>
    public string Code { get; }
}

/// <summary>The action was not authorized and its body did not run.</summary>
public class ActionDeniedException : AimException
{
    /// <summary>Creates a denial.</summary>
    /// <param name="capability">The capability that was requested.</param>
    /// <param name="reasonCode">Which rule denied it, for example <c>capability_not_granted</c>.</param>
    /// <param name="message">A human-readable reason.</param>
    /// <param name="inner">The underlying failure when the denial is a fail-closed error.</param>
    public ActionDeniedException(string capability, string reasonCode, string message, Exception? inner = null)
        : base("aim_action_denied", message, inner)
    {
        Capability = capability;
        ReasonCode = reasonCode;
    }

    /// <summary>The capability of the denied action.</summary>
    public string Capability { get; }

    /// <summary>The rule that denied the action (stable): <c>capability_not_granted</c>, <c>resource_not_granted</c>,
    /// <c>attribute_mismatch</c>, <c>outside_time_window</c>, <c>rate_limited</c>, <c>budget_exceeded</c>,
    /// <c>chain_invalid</c>, <c>intent_flagged</c>, <c>approval_denied</c>, <c>no_approver</c>, <c>pipeline_error</c>.</summary>
    public string ReasonCode { get; }
}

/// <summary>A JIT approval was required and no human answered in time; the body did not run.</summary>
public class ApprovalTimeoutException : AimException
{
    /// <summary>Creates a timeout.</summary>
    public ApprovalTimeoutException(string capability, TimeSpan timeout)
        : base("aim_approval_timeout", $"No approval for '{capability}' within {timeout.TotalSeconds:0.#} s; the action did not run.")
    {
        Capability = capability;
        Timeout = timeout;
    }

    /// <summary>The capability that waited for approval.</summary>
    public string Capability { get; }

    /// <summary>How long Aim waited.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>The engine (the Aim server, or the local audit store) could not be reached; the action did not run.</summary>
public class AimUnavailableException : AimException
{
    /// <summary>Creates the exception.</summary>
    public AimUnavailableException(string message, Exception? inner = null)
        : base("aim_unavailable", message, inner)
    {
    }
}

/// <summary>Aim is not configured (no runtime, invalid options); nothing ran.</summary>
public class AimConfigurationException : AimException
{
    /// <summary>Creates the exception.</summary>
    public AimConfigurationException(string message, Exception? inner = null)
        : base("aim_configuration", message, inner)
    {
    }
}
