namespace Aim.Crypto;

/// <summary>
/// Ed25519 (RFC 8032) signatures through libsodium. Span-based and allocation-free; the
/// <see cref="Ed25519KeyPair"/> type wraps these for callers that hold a key.
/// </summary>
public static class Ed25519
{
    /// <summary>Size of a public key in bytes.</summary>
    public const int PublicKeySize = 32;

    /// <summary>Size of a private seed in bytes (RFC 8032's private key).</summary>
    public const int SeedSize = 32;

    /// <summary>Size of libsodium's expanded secret key (seed followed by public key).</summary>
    public const int SecretKeySize = 64;

    /// <summary>Size of a signature in bytes.</summary>
    public const int SignatureSize = 64;

    /// <summary>Generates a fresh key pair from the system's secure random source.</summary>
    /// <exception cref="ArgumentException">A buffer has the wrong size.</exception>
    /// <exception cref="SodiumUnavailableException">libsodium is not installed.</exception>
    public static void GenerateKeyPair(Span<byte> publicKey, Span<byte> secretKey)
    {
        CheckSize(publicKey.Length, PublicKeySize, nameof(publicKey));
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        Sodium.EnsureInitialized();
        if (Sodium.crypto_sign_keypair(publicKey, secretKey) != 0)
        {
            throw new InvalidOperationException("crypto_sign_keypair failed.");
        }
    }

    /// <summary>Derives the key pair of a 32-byte seed.</summary>
    /// <exception cref="ArgumentException">A buffer has the wrong size.</exception>
    public static void KeyPairFromSeed(ReadOnlySpan<byte> seed, Span<byte> publicKey, Span<byte> secretKey)
    {
        CheckSize(seed.Length, SeedSize, nameof(seed));
        CheckSize(publicKey.Length, PublicKeySize, nameof(publicKey));
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        Sodium.EnsureInitialized();
        if (Sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed) != 0)
        {
            throw new InvalidOperationException("crypto_sign_seed_keypair failed.");
        }
    }

    /// <summary>Signs <paramref name="message"/> with a 64-byte secret key into a 64-byte signature.</summary>
    /// <exception cref="ArgumentException">A buffer has the wrong size.</exception>
    public static void Sign(ReadOnlySpan<byte> secretKey, ReadOnlySpan<byte> message, Span<byte> signature)
    {
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        CheckSize(signature.Length, SignatureSize, nameof(signature));
        Sodium.EnsureInitialized();
        if (Sodium.crypto_sign_detached(signature, out _, message, (ulong)message.Length, secretKey) != 0)
        {
            throw new InvalidOperationException("crypto_sign_detached failed.");
        }
    }

    /// <summary>
    /// Verifies a detached signature. Returns false (never throws) for a signature or key of the
    /// wrong size, a non-canonical encoding, or a mismatch.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
        {
            return false;
        }

        Sodium.EnsureInitialized();
        return Sodium.crypto_sign_verify_detached(signature, message, (ulong)message.Length, publicKey) == 0;
    }

    /// <summary>Extracts the 32-byte seed from a 64-byte secret key.</summary>
    public static void SeedFromSecretKey(ReadOnlySpan<byte> secretKey, Span<byte> seed)
    {
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        CheckSize(seed.Length, SeedSize, nameof(seed));
        Sodium.EnsureInitialized();
        _ = Sodium.crypto_sign_ed25519_sk_to_seed(seed, secretKey);
    }

    /// <summary>Overwrites a buffer holding secret material with zeros (not optimized away).</summary>
    public static void Wipe(Span<byte> secret)
    {
        if (secret.IsEmpty)
        {
            return;
        }

        Sodium.EnsureInitialized();
        Sodium.sodium_memzero(secret, (nuint)secret.Length);
    }

    /// <summary>The version string of the loaded libsodium.</summary>
    public static string LibraryVersion
    {
        get
        {
            Sodium.EnsureInitialized();
            return System.Runtime.InteropServices.Marshal.PtrToStringAnsi(Sodium.sodium_version_string()) ?? "unknown";
        }
    }

    private static void CheckSize(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} must be {expected} bytes, got {actual}.", name);
        }
    }
}
