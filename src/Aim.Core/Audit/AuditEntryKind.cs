namespace Aim.Audit;

/// <summary>What an audit entry records. JSON form: <c>authorized</c>, <c>denied</c>, <c>outcome</c>, <c>event</c>.</summary>
public enum AuditEntryKind
{
    /// <summary>The action passed authorization and is about to run.</summary>
    Authorized = 0,

    /// <summary>The action was denied; its body did not run.</summary>
    Denied = 1,

    /// <summary>The result of an authorized action (success, error, cancelled).</summary>
    Outcome = 2,

    /// <summary>Anything else worth recording (approvals, key events, configuration changes).</summary>
    Event = 3,
}
