using System.Collections.Concurrent;

namespace Aim.Tokens.Identity;

/// <summary>A thread-safe in-memory trust store (tests, embedded use).</summary>
public sealed class InMemoryTrustStore : IAipTrustStore
{
    private readonly ConcurrentDictionary<string, bool> _roots = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<AipPublicKey>> _pinned = new(StringComparer.Ordinal);

    /// <summary>Creates a store trusting the given roots.</summary>
    public InMemoryTrustStore(params string[] trustedRoots)
    {
        foreach (var root in trustedRoots)
        {
            TrustRoot(root);
        }
    }

    /// <summary>Trusts tokens rooted at <paramref name="aipId"/>.</summary>
    /// <exception cref="AipException">The identifier is not a valid AIP identifier.</exception>
    public InMemoryTrustStore TrustRoot(string aipId)
    {
        _roots[AipIdentifier.Parse(aipId).Value] = true;
        return this;
    }

    /// <summary>Stops trusting a root.</summary>
    public bool Distrust(string aipId) => _roots.TryRemove(aipId, out _);

    /// <summary>Pins the keys of an <c>aip:web</c> identifier (offline resolution).</summary>
    /// <exception cref="ArgumentException">The identifier is not <c>aip:web</c> or no key is given.</exception>
    public InMemoryTrustStore Pin(string aipWebId, IReadOnlyList<AipPublicKey> keys)
    {
        if (!AipIdentifier.TryParse(aipWebId, out var id) || id.Kind != AipIdentifierKind.Web)
        {
            throw new ArgumentException("Only aip:web identifiers are pinned.", nameof(aipWebId));
        }

        if (keys is null || keys.Count == 0)
        {
            throw new ArgumentException("Pin at least one key.", nameof(keys));
        }

        _pinned[aipWebId] = keys.ToArray();
        return this;
    }

    /// <inheritdoc/>
    public bool IsTrustedRoot(string aipId) => _roots.ContainsKey(aipId);

    /// <inheritdoc/>
    public bool TryGetPinnedKeys(string aipId, out IReadOnlyList<AipPublicKey> keys) => _pinned.TryGetValue(aipId, out keys!);
}
