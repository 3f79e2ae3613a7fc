using Aim.Crypto;

namespace Aim.Tokens.Identity;

/// <summary>
/// One Ed25519 key of an identity with an optional validity window (rotation: an identity document lists the
/// outgoing and the incoming key with overlapping windows).
/// </summary>
public sealed class AipPublicKey
{
    private readonly byte[] _key;

    /// <summary>Creates a key entry.</summary>
    /// <param name="id">A label unique within the document (for example <c>k1</c>).</param>
    /// <param name="publicKey">The 32-byte Ed25519 public key (copied).</param>
    /// <param name="notBefore">The key is not valid before this instant (null: no lower bound).</param>
    /// <param name="notAfter">The key is not valid after this instant (null: no upper bound).</param>
    /// <exception cref="ArgumentException">The key is not 32 bytes, or the window is empty.</exception>
    public AipPublicKey(string id, ReadOnlySpan<byte> publicKey, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        if (publicKey.Length != Ed25519.PublicKeySize)
        {
            throw new ArgumentException("An Ed25519 public key is 32 bytes.", nameof(publicKey));
        }

        if (notBefore is not null && notAfter is not null && notAfter < notBefore)
        {
            throw new ArgumentException("The validity window ends before it starts.", nameof(notAfter));
        }

        Id = id;
        _key = publicKey.ToArray();
        NotBefore = notBefore;
        NotAfter = notAfter;
    }

    /// <summary>The key's label within its document.</summary>
    public string Id { get; }

    /// <summary>The 32-byte Ed25519 public key.</summary>
    public ReadOnlySpan<byte> Key => _key;

    /// <summary>The key's <c>aip:key</c> identifier.</summary>
    public string AipId => AipIdentifier.ForKey(_key);

    /// <summary>Start of the validity window, if any.</summary>
    public DateTimeOffset? NotBefore { get; }

    /// <summary>End of the validity window, if any.</summary>
    public DateTimeOffset? NotAfter { get; }

    /// <summary>True when the key is valid at <paramref name="instant"/>.</summary>
    public bool IsValidAt(DateTimeOffset instant) => (NotBefore is null || instant >= NotBefore) && (NotAfter is null || instant <= NotAfter);

    /// <summary>Verifies an Ed25519 signature with this key.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) => Ed25519.Verify(_key, message, signature);
}
