namespace Aim.Audit;

/// <summary>The stable reason codes of <see cref="AuditVerificationResult.ReasonCode"/>.</summary>
public static class AuditReasonCodes
{
    /// <summary>An entry's bytes differ from what was signed and committed (content edited, not JSON, fields missing).</summary>
    public const string EntryModified = "entry_modified";

    /// <summary>An entry is well formed and matches the committed leaf, but its signature does not verify.</summary>
    public const string EntrySignatureInvalid = "entry_signature_invalid";

    /// <summary>An index is missing: the entry at this position was removed.</summary>
    public const string EntryDeleted = "entry_deleted";

    /// <summary>Entries are out of order: the entry for this position appears later in the log.</summary>
    public const string EntryReordered = "entry_reordered";

    /// <summary>An entry that the log never committed at this position (a replay or a forged extra row).</summary>
    public const string EntryInserted = "entry_inserted";

    /// <summary>The log holds fewer entries than a signed tree head (or the open log) says it committed.</summary>
    public const string Truncated = "truncated";

    /// <summary>A signed tree head is malformed, badly signed, or signed by a key other than the log's.</summary>
    public const string TreeHeadInvalid = "tree_head_invalid";

    /// <summary>The entries do not hash to the root a signed tree head committed to.</summary>
    public const string RootMismatch = "root_mismatch";

    /// <summary>An entry is intact and validly signed, but by a key the caller did not list as a trusted signer
    /// (for example a row forged after the last tree head by someone who can write the file but holds no agent key).</summary>
    public const string SignerUntrusted = "signer_untrusted";

    /// <summary>The file is not a readable audit log (not SQLite, wrong schema, foreign file).</summary>
    public const string LogUnreadable = "log_unreadable";
}
