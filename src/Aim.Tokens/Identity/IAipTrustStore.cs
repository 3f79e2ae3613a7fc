namespace Aim.Tokens.Identity;

/// <summary>
/// What a verifier trusts offline: the root identities whose tokens it accepts (V2), and identity documents pinned for
/// <c>aip:web</c> identifiers so they resolve without a network.
/// </summary>
public interface IAipTrustStore
{
    /// <summary>True when tokens whose root (issuer) is <paramref name="aipId"/> are accepted.</summary>
    bool IsTrustedRoot(string aipId);

    /// <summary>The pinned keys of an <c>aip:web</c> identifier, if any.</summary>
    bool TryGetPinnedKeys(string aipId, out IReadOnlyList<AipPublicKey> keys);
}
