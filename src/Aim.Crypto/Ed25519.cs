using System.Security.Cryptography;
using NSec.Cryptography;
using NSecEd25519 = NSec.Cryptography.Ed25519;

namespace Aim.Crypto;

/// <summary>
/// Ed25519 (RFC 8032) signatures through NSec.Cryptography, which runs libsodium's implementation from the native
/// library the libsodium NuGet package ships (no system package). Span-based; the <see cref="Ed25519KeyPair"/> type
/// holds an imported key for callers that sign more than once.
/// </summary>
public static class Ed25519
{
    /// <summary>Size of a public key in bytes.</summary>
    public const int PublicKeySize = 32;

    /// <summary>Size of a private seed in bytes (RFC 8032's private key).</summary>
    public const int SeedSize = 32;

    /// <summary>Size of the NaCl/libsodium secret key layout (seed followed by public key).</summary>
    public const int SecretKeySize = 64;

    /// <summary>Size of a signature in bytes.</summary>
    public const int SignatureSize = 64;

    // Not a static readonly field: a failed load must throw a typed exception every time, not poison the type.
    private static NSecEd25519? s_algorithm;

    /// <summary>NSec's Ed25519, loading libsodium on first use.</summary>
    /// <exception cref="SodiumUnavailableException">libsodium could not be loaded or initialized.</exception>
    internal static NSecEd25519 Algorithm => s_algorithm ?? Load();

    /// <summary>Generates a fresh key pair from the system's secure random source.</summary>
    /// <exception cref="ArgumentException">A buffer has the wrong size.</exception>
    /// <exception cref="SodiumUnavailableException">libsodium could not be loaded.</exception>
    public static void GenerateKeyPair(Span<byte> publicKey, Span<byte> secretKey)
    {
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        Span<byte> seed = secretKey[..SeedSize];
        RandomNumberGenerator.Fill(seed);
        KeyPairFromSeed(seed, publicKey, secretKey);
    }

    /// <summary>Derives the key pair of a 32-byte seed into a public key and a 64-byte secret key (seed then public key).</summary>
    /// <exception cref="ArgumentException">A buffer has the wrong size.</exception>
    /// <exception cref="SodiumUnavailableException">libsodium could not be loaded.</exception>
    public static void KeyPairFromSeed(ReadOnlySpan<byte> seed, Span<byte> publicKey, Span<byte> secretKey)
    {
        CheckSize(seed.Length, SeedSize, nameof(seed));
        CheckSize(publicKey.Length, PublicKeySize, nameof(publicKey));
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        using (var key = ImportSeed(seed, exportable: false))
        {
            ExportPublicKey(key, publicKey);
        }

        // seed and secretKey may overlap (GenerateKeyPair): copy the seed before writing the public half.
        seed.CopyTo(secretKey[..SeedSize]);
        publicKey.CopyTo(secretKey[SeedSize..]);
    }

    /// <summary>
    /// Signs <paramref name="message"/> with a 64-byte secret key into a 64-byte signature. The key is imported from
    /// its seed on every call (about the cost of one more signature); hold an <see cref="Ed25519KeyPair"/> to sign
    /// repeatedly.
    /// </summary>
    /// <exception cref="ArgumentException">A buffer has the wrong size, or the public half does not belong to the seed.</exception>
    /// <exception cref="SodiumUnavailableException">libsodium could not be loaded.</exception>
    public static void Sign(ReadOnlySpan<byte> secretKey, ReadOnlySpan<byte> message, Span<byte> signature)
    {
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        CheckSize(signature.Length, SignatureSize, nameof(signature));
        using var key = ImportSeed(secretKey[..SeedSize], exportable: false);
        Span<byte> derived = stackalloc byte[PublicKeySize];
        ExportPublicKey(key, derived);

        // Signing with a public half that is not the seed's would leak the key (the nonce does not cover it).
        if (!CryptographicOperations.FixedTimeEquals(derived, secretKey[SeedSize..]))
        {
            throw new ArgumentException("The public half of the secret key does not match its seed.", nameof(secretKey));
        }

        Algorithm.Sign(key, message, signature);
    }

    /// <summary>
    /// Verifies a detached signature. Returns false (never throws) for a signature or key of the
    /// wrong size, a non-canonical encoding, a small-order key, or a mismatch.
    /// </summary>
    /// <exception cref="SodiumUnavailableException">libsodium could not be loaded.</exception>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
        {
            return false;
        }

        var algorithm = Algorithm;
        return PublicKey.TryImport(algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key)
            && algorithm.Verify(key!, message, signature);
    }

    /// <summary>Extracts the 32-byte seed from a 64-byte secret key.</summary>
    /// <exception cref="ArgumentException">A buffer has the wrong size.</exception>
    public static void SeedFromSecretKey(ReadOnlySpan<byte> secretKey, Span<byte> seed)
    {
        CheckSize(secretKey.Length, SecretKeySize, nameof(secretKey));
        CheckSize(seed.Length, SeedSize, nameof(seed));
        secretKey[..SeedSize].CopyTo(seed);
    }

    /// <summary>Overwrites a buffer holding secret material with zeros (not optimized away).</summary>
    public static void Wipe(Span<byte> secret) => CryptographicOperations.ZeroMemory(secret);

    /// <summary>Imports a seed as an NSec key; the seed is exportable only when the holder must persist it.</summary>
    internal static Key ImportSeed(ReadOnlySpan<byte> seed, bool exportable)
    {
        CheckSize(seed.Length, SeedSize, nameof(seed));
        var parameters = new KeyCreationParameters
        {
            ExportPolicy = exportable ? KeyExportPolicies.AllowPlaintextExport : KeyExportPolicies.None,
        };
        return Key.Import(Algorithm, seed, KeyBlobFormat.RawPrivateKey, in parameters);
    }

    /// <summary>Writes the 32-byte public key of an NSec key.</summary>
    internal static void ExportPublicKey(Key key, Span<byte> publicKey)
    {
        if (!key.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, publicKey, out int written) || written != PublicKeySize)
        {
            throw new CryptographicException("NSec did not export a 32-byte Ed25519 public key.");
        }
    }

    private static NSecEd25519 Load()
    {
        try
        {
            return s_algorithm = SignatureAlgorithm.Ed25519;
        }
        catch (PlatformNotSupportedException ex)
        {
            throw new SodiumUnavailableException(ex);
        }
        catch (DllNotFoundException ex)
        {
            throw new SodiumUnavailableException(ex);
        }
        catch (EntryPointNotFoundException ex)
        {
            throw new SodiumUnavailableException(ex);
        }
        catch (InvalidOperationException ex)
        {
            // NSec refuses a libsodium whose version it was not built for, or one whose sodium_init fails.
            throw new SodiumUnavailableException(ex);
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
