namespace Aim.Crypto;

/// <summary>
/// An Ed25519 key pair held in memory. The secret key is wiped on <see cref="Dispose"/>;
/// <see cref="ToString"/> never reveals it.
/// </summary>
public sealed class Ed25519KeyPair : IDisposable
{
    private readonly byte[] _secretKey;
    private readonly byte[] _publicKey;
    private bool _disposed;

    private Ed25519KeyPair(byte[] publicKey, byte[] secretKey)
    {
        _publicKey = publicKey;
        _secretKey = secretKey;
    }

    /// <summary>The 32-byte public key (a copy-free read-only view).</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>Generates a new random key pair.</summary>
    public static Ed25519KeyPair Generate()
    {
        var pk = new byte[Ed25519.PublicKeySize];
        var sk = new byte[Ed25519.SecretKeySize];
        Ed25519.GenerateKeyPair(pk, sk);
        return new Ed25519KeyPair(pk, sk);
    }

    /// <summary>Creates the key pair of a 32-byte seed (RFC 8032 private key).</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    public static Ed25519KeyPair FromSeed(ReadOnlySpan<byte> seed)
    {
        var pk = new byte[Ed25519.PublicKeySize];
        var sk = new byte[Ed25519.SecretKeySize];
        Ed25519.KeyPairFromSeed(seed, pk, sk);
        return new Ed25519KeyPair(pk, sk);
    }

    /// <summary>
    /// Imports a 64-byte secret key (seed then public key, the libsodium and NaCl layout). The
    /// embedded public key must match the one derived from the seed.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong size, or the public half does not belong to the seed.</exception>
    public static Ed25519KeyPair FromSecretKey(ReadOnlySpan<byte> secretKey)
    {
        if (secretKey.Length != Ed25519.SecretKeySize)
        {
            throw new ArgumentException($"secretKey must be {Ed25519.SecretKeySize} bytes, got {secretKey.Length}.", nameof(secretKey));
        }

        var pair = FromSeed(secretKey[..Ed25519.SeedSize]);
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(pair.PublicKey, secretKey[Ed25519.SeedSize..]))
        {
            pair.Dispose();
            throw new ArgumentException("The public half of the secret key does not match its seed.", nameof(secretKey));
        }

        return pair;
    }

    /// <summary>Signs a message; returns the 64-byte signature.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var signature = new byte[Ed25519.SignatureSize];
        Sign(message, signature);
        return signature;
    }

    /// <summary>Signs a message into a caller-provided 64-byte buffer.</summary>
    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Ed25519.Sign(_secretKey, message, signature);
    }

    /// <summary>Verifies a signature made by this key pair.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) => Ed25519.Verify(_publicKey, message, signature);

    /// <summary>Exports the 32-byte seed. The caller owns (and should wipe) the returned array.</summary>
    public byte[] ExportSeed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _secretKey[..Ed25519.SeedSize];
    }

    /// <summary>Exports the 64-byte secret key. The caller owns (and should wipe) the returned array.</summary>
    public byte[] ExportSecretKey()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (byte[])_secretKey.Clone();
    }

    /// <summary>Wipes the secret key from memory.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Ed25519.Wipe(_secretKey);
        }
    }

    /// <summary>Describes the key by its public half only.</summary>
    public override string ToString() => $"Ed25519KeyPair(public {Convert.ToHexStringLower(_publicKey)})";
}
