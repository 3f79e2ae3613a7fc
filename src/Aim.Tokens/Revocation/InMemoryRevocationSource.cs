using System.Collections.Immutable;

namespace Aim.Tokens.Revocation;

/// <summary>
/// An in-process revocation list. It is authoritative for its process, so its snapshots are always current
/// (<see cref="RevocationSnapshot.AsOf"/> is now).
/// </summary>
public sealed class InMemoryRevocationSource : IRevocationSource
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private ImmutableHashSet<string> _revoked = ImmutableHashSet.Create<string>(StringComparer.Ordinal);
    private long _version;

    /// <summary>Creates an empty list.</summary>
    public InMemoryRevocationSource(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>Revokes a key or identity by its AIP identifier.</summary>
    public void Revoke(string aipId)
    {
        ArgumentException.ThrowIfNullOrEmpty(aipId);
        lock (_gate)
        {
            _revoked = _revoked.Add(aipId);
            _version++;
        }
    }

    /// <inheritdoc/>
    public ValueTask<RevocationSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(new RevocationSnapshot(_revoked, _time.GetUtcNow(), _version));
        }
    }
}
