using System.Buffers.Binary;
using System.Security.Cryptography;
using Aim.Crypto;

namespace Aim.Identity;

/// <summary>
/// The public identity of an agent: a stable id, a name and its Ed25519 public key. Immutable; two
/// identities are equal when both the id and the key are equal (the name is a label).
/// </summary>
public sealed class AgentIdentity : IEquatable<AgentIdentity>
{
    /// <summary>Prefix of an AIP key identifier; the base58btc key follows the multibase <c>z</c>.</summary>
    public const string AipKeyPrefix = "aip:key:ed25519:z";

    /// <summary>Prefix of a did:key; the multibase <c>z</c> and the base58btc multicodec key follow.</summary>
    public const string DidKeyPrefix = "did:key:z";

    // Multicodec ed25519-pub (0xed) as an unsigned varint: 0xed 0x01.
    private const byte MulticodecEd25519First = 0xed;
    private const byte MulticodecEd25519Second = 0x01;

    // base58btc of 32 bytes is at most 44 characters, of 34 bytes at most 47; longer input is refused
    // before decoding (the decoder is quadratic in its input).
    private const int MaxEncodedKeyLength = 48;

    private readonly byte[] _publicKey;
    private string? _aipId;
    private string? _didKey;
    private string? _idText;

    /// <summary>Creates an identity.</summary>
    /// <param name="id">The agent's stable id.</param>
    /// <param name="name">The agent's name (a label; not validated here).</param>
    /// <param name="publicKey">The 32-byte Ed25519 public key (copied).</param>
    /// <exception cref="IdentityFormatException">The key is not 32 bytes.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public AgentIdentity(Guid id, string name, ReadOnlySpan<byte> publicKey)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (publicKey.Length != Ed25519.PublicKeySize)
        {
            throw new IdentityFormatException($"An Ed25519 public key is {Ed25519.PublicKeySize} bytes, got {publicKey.Length}.");
        }

        Id = id;
        Name = name;
        _publicKey = publicKey.ToArray();
    }

    /// <summary>The agent's stable id.</summary>
    public Guid Id { get; }

    /// <summary><see cref="Id"/> as text (<c>Guid.ToString()</c>), formatted once: every audit record carries it.</summary>
    internal string IdText => _idText ??= Id.ToString();

    /// <summary>The agent's name.</summary>
    public string Name { get; }

    /// <summary>The 32-byte Ed25519 public key (read-only view; the identity keeps its own copy).</summary>
    public ReadOnlyMemory<byte> PublicKey => _publicKey;

    /// <summary>The AIP key identifier: <c>aip:key:ed25519:z&lt;base58btc of the key&gt;</c>.</summary>
    public string AipId => _aipId ??= AipKeyPrefix + Base58.Encode(_publicKey);

    /// <summary>The did:key of the public key: <c>did:key:z6Mk…</c> (multicodec 0xed01 then the key, base58btc).</summary>
    public string DidKey => _didKey ??= DidKeyPrefix + Base58.Encode([MulticodecEd25519First, MulticodecEd25519Second, .. _publicKey]);

    /// <summary>The AIP key identifier of a bare public key.</summary>
    /// <exception cref="IdentityFormatException">The key is not 32 bytes.</exception>
    public static string AipIdOf(ReadOnlySpan<byte> publicKey) => new AgentIdentity(Guid.Empty, string.Empty, publicKey).AipId;

    /// <summary>The did:key of a bare public key.</summary>
    /// <exception cref="IdentityFormatException">The key is not 32 bytes.</exception>
    public static string DidKeyOf(ReadOnlySpan<byte> publicKey) => new AgentIdentity(Guid.Empty, string.Empty, publicKey).DidKey;

    /// <summary>Extracts the 32-byte public key of an <c>aip:key:ed25519:z…</c> identifier.</summary>
    /// <exception cref="IdentityFormatException">Wrong prefix, a non-base58btc character, or not 32 bytes.</exception>
    public static byte[] PublicKeyFromAipId(string aipId)
    {
        var decoded = DecodeAfterPrefix(aipId, AipKeyPrefix, "AIP key identifier");
        if (decoded.Length != Ed25519.PublicKeySize)
        {
            throw new IdentityFormatException($"The AIP key identifier holds {decoded.Length} bytes; an Ed25519 key is {Ed25519.PublicKeySize}.");
        }

        return decoded;
    }

    /// <summary>Extracts the 32-byte public key of a <c>did:key:z6Mk…</c> (Ed25519 multicodec only).</summary>
    /// <exception cref="IdentityFormatException">Wrong prefix, a non-base58btc character, another multicodec, or a wrong length.</exception>
    public static byte[] PublicKeyFromDidKey(string didKey)
    {
        var decoded = DecodeAfterPrefix(didKey, DidKeyPrefix, "did:key");
        if (decoded.Length < 2 || decoded[0] != MulticodecEd25519First || decoded[1] != MulticodecEd25519Second)
        {
            throw new IdentityFormatException("The did:key is not an Ed25519 key (multicodec 0xed01 expected).");
        }

        if (decoded.Length != 2 + Ed25519.PublicKeySize)
        {
            throw new IdentityFormatException($"The did:key holds a {decoded.Length - 2}-byte key; an Ed25519 key is {Ed25519.PublicKeySize}.");
        }

        return decoded[2..];
    }

    /// <summary>Like <see cref="PublicKeyFromAipId"/> but returns false instead of throwing.</summary>
    public static bool TryPublicKeyFromAipId(string? aipId, out byte[] publicKey)
    {
        try
        {
            publicKey = PublicKeyFromAipId(aipId!);
            return true;
        }
        catch (IdentityFormatException)
        {
            publicKey = [];
            return false;
        }
    }

    /// <summary>Verifies an Ed25519 signature made by this identity's key.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) => Ed25519.Verify(_publicKey, message, signature);

    /// <inheritdoc/>
    public bool Equals(AgentIdentity? other) =>
        other is not null && Id == other.Id && CryptographicOperations.FixedTimeEquals(_publicKey, other._publicKey);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as AgentIdentity);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Id, BinaryPrimitives.ReadInt64LittleEndian(_publicKey));

    /// <summary>Equality by id and key.</summary>
    public static bool operator ==(AgentIdentity? left, AgentIdentity? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality by id and key.</summary>
    public static bool operator !=(AgentIdentity? left, AgentIdentity? right) => !(left == right);

    /// <summary>The name, id and AIP identifier (public data only).</summary>
    public override string ToString() => $"{Name} ({Id}, {AipId})";

    private static byte[] DecodeAfterPrefix(string? text, string prefix, string what)
    {
        if (text is null)
        {
            throw new IdentityFormatException($"The {what} is missing.");
        }

        if (!text.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new IdentityFormatException($"The {what} must start with '{prefix}'.");
        }

        var encoded = text.AsSpan(prefix.Length);
        if (encoded.IsEmpty)
        {
            throw new IdentityFormatException($"The {what} has no key after '{prefix}'.");
        }

        if (encoded.Length > MaxEncodedKeyLength)
        {
            throw new IdentityFormatException($"The {what} is too long ({encoded.Length} base58 characters).");
        }

        if (!Base58.TryDecode(encoded.ToString(), out var decoded))
        {
            throw new IdentityFormatException($"The {what} contains a character outside the base58btc alphabet.");
        }

        return decoded;
    }
}
