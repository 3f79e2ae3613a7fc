using System.Security.Cryptography;
using Aim.Crypto;

namespace Aim.Biscuit;

/// <summary>
/// A Biscuit signing key pair: Ed25519 (libsodium, 32-byte seed as private key) or secp256r1
/// (System.Security.Cryptography, 32-byte big-endian scalar). Text form of the private key:
/// <c>ed25519-private/&lt;hex&gt;</c> or <c>secp256r1-private/&lt;hex&gt;</c>. Dispose to wipe the secret.
/// </summary>
public sealed class KeyPair : IDisposable
{
    private readonly Ed25519KeyPair? _ed25519;
    private readonly ECDsa? _p256;

    private KeyPair(Ed25519KeyPair key)
    {
        _ed25519 = key;
        Algorithm = Algorithm.Ed25519;
        PublicKey = PublicKey.FromBytes(key.PublicKey, Algorithm.Ed25519);
    }

    private KeyPair(ECDsa key)
    {
        _p256 = key;
        Algorithm = Algorithm.Secp256r1;
        var q = key.ExportParameters(false).Q;
        PublicKey = PublicKey.FromBytes(PublicKey.P256.Compress(q.X!, q.Y!), Algorithm.Secp256r1);
    }

    /// <summary>The key's algorithm.</summary>
    public Algorithm Algorithm { get; }

    /// <summary>The public half.</summary>
    public PublicKey PublicKey { get; }

    /// <summary>Generates a random key pair.</summary>
    public static KeyPair Generate(Algorithm algorithm = Algorithm.Ed25519) => algorithm switch
    {
        Algorithm.Ed25519 => new KeyPair(Ed25519KeyPair.Generate()),
        Algorithm.Secp256r1 => new KeyPair(ECDsa.Create(ECCurve.NamedCurves.nistP256)),
        _ => throw new BiscuitFormatException(FormatErrorKind.InvalidKey, $"unsupported key algorithm {(int)algorithm}"),
    };

    /// <summary>Imports a private key from its bytes (32 bytes for both algorithms).</summary>
    /// <exception cref="BiscuitFormatException">Wrong size or invalid scalar.</exception>
    public static KeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey, Algorithm algorithm)
    {
        if (privateKey.Length != 32)
            throw new BiscuitFormatException(FormatErrorKind.InvalidKeySize, $"invalid private key size: {privateKey.Length}");
        switch (algorithm)
        {
            case Algorithm.Ed25519:
                return new KeyPair(Ed25519KeyPair.FromSeed(privateKey));
            case Algorithm.Secp256r1:
                var ecdsa = ECDsa.Create();
                try
                {
                    ecdsa.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateKey.ToArray() });
                    return new KeyPair(ecdsa);
                }
                catch (CryptographicException e)
                {
                    ecdsa.Dispose();
                    throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "invalid secp256r1 private key: " + e.Message, e);
                }
            default:
                throw new BiscuitFormatException(FormatErrorKind.InvalidKey, $"unsupported key algorithm {(int)algorithm}");
        }
    }

    /// <summary>Parses <c>ed25519-private/&lt;hex&gt;</c> or <c>secp256r1-private/&lt;hex&gt;</c>.</summary>
    /// <exception cref="BiscuitFormatException">Unknown prefix, bad hex or invalid key.</exception>
    public static KeyPair Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/');
        if (slash < 0) throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "missing key algorithm");
        var algorithm = text[..slash] switch
        {
            "ed25519-private" => Algorithm.Ed25519,
            "secp256r1-private" => Algorithm.Secp256r1,
            var other => throw new BiscuitFormatException(FormatErrorKind.InvalidKey, $"unsupported key algorithm {other}"),
        };
        var bytes = Hex.Decode(text[(slash + 1)..]);
        try
        {
            return FromPrivateKey(bytes, algorithm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Exports the 32-byte private key. The caller owns (and should wipe) the copy.</summary>
    public byte[] ExportPrivateKey()
    {
        if (_ed25519 is not null) return _ed25519.ExportSeed();
        var d = _p256!.ExportParameters(true).D!;
        if (d.Length == 32) return d;
        var padded = new byte[32];
        d.CopyTo(padded, 32 - d.Length);
        return padded;
    }

    /// <summary>The private key's text form (a secret: never log it).</summary>
    public string ExportPrivateKeyString()
    {
        var bytes = ExportPrivateKey();
        try
        {
            return (Algorithm == Algorithm.Ed25519 ? "ed25519-private/" : "secp256r1-private/") + Convert.ToHexStringLower(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Signs <paramref name="data"/> (ECDSA signatures are DER-encoded, SHA-256 digest).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        if (_ed25519 is not null) return _ed25519.Sign(data);
        return _p256!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>Wipes the secret key.</summary>
    public void Dispose()
    {
        _ed25519?.Dispose();
        _p256?.Dispose();
    }

    /// <summary>Describes the key by its public half only.</summary>
    public override string ToString() => $"KeyPair({PublicKey})";
}
