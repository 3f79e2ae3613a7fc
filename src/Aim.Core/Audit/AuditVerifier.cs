using Microsoft.Data.Sqlite;

namespace Aim.Audit;

/// <summary>Verifies an audit log file without its log key and without opening it for writing.</summary>
public static class AuditVerifier
{
    /// <summary>
    /// Opens <paramref name="path"/> read-only and verifies every entry signature, the index sequence and the Merkle
    /// tree against every signed tree head in the database, in the <c>.heads</c> side file and
    /// <paramref name="trustedEarlierHead"/>. Never throws for a damaged or foreign file: the result says
    /// <c>log_unreadable</c> or names the first bad entry. Meant for a closed log or a copy; for a log that a process is
    /// writing, call <see cref="AuditLog.Verify(SignedTreeHead?, CancellationToken)"/> in that process (it also checks against what it knows it committed).
    /// </summary>
    /// <param name="path">The audit log database.</param>
    /// <param name="trustedEarlierHead">A head obtained earlier and kept out of reach of the log's host, if any.</param>
    /// <param name="ct">Cancels the verification.</param>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static AuditVerificationResult VerifyFile(string path, SignedTreeHead? trustedEarlierHead = null, CancellationToken ct = default) =>
        VerifyFile(path, trustedEarlierHead, trustedSigners: null, ct);

    /// <summary>
    /// As <see cref="VerifyFile(string, SignedTreeHead?, CancellationToken)"/>, and also requires every entry to be signed by
    /// one of <paramref name="trustedSigners"/> (32-byte Ed25519 public keys). Without that list an entry appended after
    /// the last signed tree head is only checked against the key it names itself, so someone who can write the file
    /// could add a self-signed entry; with it such an entry fails with <see cref="AuditReasonCodes.SignerUntrusted"/>.
    /// </summary>
    /// <param name="path">The audit log database.</param>
    /// <param name="trustedEarlierHead">A head obtained earlier and kept out of reach of the log's host, if any.</param>
    /// <param name="trustedSigners">The agent keys allowed to sign entries; <see langword="null"/> accepts any valid signature.</param>
    /// <param name="ct">Cancels the verification.</param>
    /// <exception cref="ArgumentException">A trusted signer is not 32 bytes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public static AuditVerificationResult VerifyFile(string path, SignedTreeHead? trustedEarlierHead, IEnumerable<byte[]>? trustedSigners, CancellationToken ct = default)
    {
        var signers = AuditLogVerification.SignerSet(trustedSigners);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            return new AuditVerificationResult(false, 0, null, AuditReasonCodes.LogUnreadable, $"'{fullPath}' does not exist.", null);
        }

        // The side file first, then one read snapshot of the database: a writer appending meanwhile cannot make
        // a head appear that the snapshot's entries do not cover.
        List<string> sideFile;
        try
        {
            sideFile = TreeHeadFile.ReadLines(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new AuditVerificationResult(false, 0, null, AuditReasonCodes.LogUnreadable, $"The side file of '{fullPath}' cannot be read: {ex.Message}", null);
        }

        SqliteConnection connection;
        try
        {
            connection = AuditStore.OpenConnection(fullPath, SqliteOpenMode.ReadOnly);
            AuditStore.Execute(connection, "BEGIN;");
        }
        catch (SqliteException ex)
        {
            return new AuditVerificationResult(false, 0, null, AuditReasonCodes.LogUnreadable, $"'{fullPath}' cannot be opened: {ex.Message}", null);
        }

        using (connection)
        {
            return AuditLogVerification.Run(connection, fullPath, sideFile, trustedEarlierHead, null, ct, signers);
        }
    }
}
