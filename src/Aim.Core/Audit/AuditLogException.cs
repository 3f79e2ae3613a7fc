namespace Aim.Audit;

/// <summary>
/// The audit log cannot be used. Codes (stable): <c>aim_audit_corrupt</c> (not an audit log, wrong schema,
/// damaged), <c>aim_audit_unavailable</c> (the store failed, for example disk full or closed),
/// <c>aim_audit_in_use</c> (another <see cref="AuditLog"/> holds the file), <c>aim_audit_key_mismatch</c>
/// (the log was created with a different log key), <c>aim_audit_tree_head_invalid</c> (a malformed signed tree head).
/// </summary>
public class AuditLogException : AimException
{
    /// <summary>Not an audit log, a foreign schema, or damaged storage.</summary>
    public const string Corrupt = "aim_audit_corrupt";

    /// <summary>The store failed or the log is closed; the entry was not committed.</summary>
    public const string Unavailable = "aim_audit_unavailable";

    /// <summary>Another writer holds the log file.</summary>
    public const string InUse = "aim_audit_in_use";

    /// <summary>The log was created with another log key.</summary>
    public const string KeyMismatch = "aim_audit_key_mismatch";

    /// <summary>A signed tree head could not be parsed.</summary>
    public const string TreeHeadInvalid = "aim_audit_tree_head_invalid";

    /// <summary>Creates the exception.</summary>
    public AuditLogException(string code, string message, Exception? inner = null)
        : base(code, message, inner)
    {
    }
}
