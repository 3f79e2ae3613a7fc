namespace Aim.Audit;

/// <summary>
/// The outcome of verifying an audit log.
/// </summary>
/// <param name="IsValid">True when every entry and every tree head checked out.</param>
/// <param name="EntriesChecked">How many entries the log holds and were checked.</param>
/// <param name="FirstBadIndex">The index of the first bad entry (for <c>truncated</c>, the first missing index;
/// for <c>root_mismatch</c>, the size of the last head that still matched, so the bad entry is at or after it).</param>
/// <param name="ReasonCode">One of <see cref="AuditReasonCodes"/>, null when valid.</param>
/// <param name="Message">A human-readable explanation, null when valid.</param>
/// <param name="LatestHead">The largest signed tree head that verified, if any.</param>
public sealed record AuditVerificationResult(bool IsValid, long EntriesChecked, long? FirstBadIndex, string? ReasonCode, string? Message, SignedTreeHead? LatestHead);
