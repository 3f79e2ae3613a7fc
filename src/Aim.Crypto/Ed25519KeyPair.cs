using NSec.Cryptography;

namespace Aim.Crypto;

/// <summary>
/// An Ed25519 key pair held in memory: the private key lives in NSec's locked, zeroed-on-free memory and is released on
/// <see cref="Dispose"/>; <see cref="ToString"/> never reveals it.
/// </summary>
public sealed class Ed25519KeyPair : IDisposable
{
    private readonly Key _key;
    private readonly byte[] _publicKey;
    private bool _disposed;

    private Ed25519KeyPair(Key key)
    {
        _key = key;
        _publicKey = new byte[Ed25519.PublicKeySize];
        Ed25519.ExportPublicKey(key, _publicKey);
    }

    /// <summary>The 32-byte public key (a copy-free read-only view).</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>Generates a new random key pair.</summary>
    /// <exception cref="SodiumUnavailableException">libsodium could not be loaded.</exception>
    public static Ed25519KeyPair Generate()
    {
        var parameters = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        return new Ed25519KeyPair(Key.Create(Ed25519.Algorithm, in parameters));
    }

    /// <summary>Creates the key pair of a 32-byte seed (RFC 8032 private key).</summary>
    /// <exception cref="ArgumentException">The seed is not 32 bytes.</exception>
    /// <exception cref="SodiumUnavailableException">libsodium could not be loaded.</exception>
    public static Ed25519KeyPair FromSeed(ReadOnlySpan<byte> seed) => new(Ed25519.ImportSeed(seed, exportable: true));

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
    /// <exception cref="ObjectDisposedException">The key pair was disposed.</exception>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var signature = new byte[Ed25519.SignatureSize];
        Sign(message, signature);
        return signature;
    }

    /// <summary>Signs a message into a caller-provided 64-byte buffer.</summary>
    /// <exception cref="ArgumentException">The buffer is not 64 bytes.</exception>
    /// <exception cref="ObjectDisposedException">The key pair was disposed.</exception>
    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (signature.Length != Ed25519.SignatureSize)
        {
            throw new ArgumentException($"signature must be {Ed25519.SignatureSize} bytes, got {signature.Length}.", nameof(signature));
        }

        Ed25519.Algorithm.Sign(_key, message, signature);
    }

    /// <summary>Verifies a signature made by this key pair.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) => Ed25519.Verify(_publicKey, message, signature);

    /// <summary>Exports the 32-byte seed. The caller owns (and should wipe) the returned array.</summary>
    /// <exception cref="ObjectDisposedException">The key pair was disposed.</exception>
    public byte[] ExportSeed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _key.Export(KeyBlobFormat.RawPrivateKey);
    }

    /// <summary>Exports the 64-byte secret key (seed then public key). The caller owns (and should wipe) the returned array.</summary>
    /// <exception cref="ObjectDisposedException">The key pair was disposed.</exception>
    public byte[] ExportSecretKey()
    {
        var secretKey = new byte[Ed25519.SecretKeySize];
        var seed = ExportSeed();
        seed.CopyTo(secretKey, 0);
        Ed25519.Wipe(seed);
        _publicKey.CopyTo(secretKey, Ed25519.SeedSize);
        return secretKey;
    }

    /// <summary>Releases (and zeroes) the private key.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _key.Dispose();
        }
    }

    /// <summary>Describes the key by its public half only.</summary>
    public override string ToString() => $"Ed25519KeyPair(public {Convert.ToHexStringLower(_publicKey)})";
}
