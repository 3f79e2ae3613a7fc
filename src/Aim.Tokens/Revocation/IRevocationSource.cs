namespace Aim.Tokens.Revocation;

/// <summary>
/// Where a verifier learns which keys are revoked (V7). The verifier refuses a snapshot older than its staleness bound,
/// and treats a source that throws as "cannot prove not revoked": both fail closed with <see cref="AipErrorCodes.KeyRevoked"/>.
/// </summary>
public interface IRevocationSource
{
    /// <summary>The current revocation list. Should complete synchronously when the data is in memory (hot path).</summary>
    ValueTask<RevocationSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default);
}

/// <summary>A revocation list as of a moment.</summary>
/// <param name="RevokedKeys">Revoked keys as <c>aip:key</c> identifiers (and revoked <c>aip:web</c> identities).</param>
/// <param name="AsOf">When the list was known to be current; older than the staleness bound means unusable.</param>
/// <param name="Version">Changes whenever the list changes (lets the verified-token cache skip re-checking).</param>
public sealed record RevocationSnapshot(IReadOnlySet<string> RevokedKeys, DateTimeOffset AsOf, long Version)
{
    /// <summary>True when <paramref name="aipId"/> is revoked.</summary>
    public bool IsRevoked(string aipId) => RevokedKeys.Contains(aipId);
}
