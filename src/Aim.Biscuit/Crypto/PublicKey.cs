using System.Security.Cryptography;

namespace Aim.Biscuit;

/// <summary>
/// A Biscuit public key: an algorithm and its canonical bytes (32 bytes for Ed25519, a 33-byte
/// compressed point for secp256r1). Text form: <c>ed25519/&lt;hex&gt;</c> or <c>secp256r1/&lt;hex&gt;</c>.
/// Immutable; equality compares algorithm and bytes.
/// </summary>
public sealed class PublicKey : IEquatable<PublicKey>
{
    private readonly byte[] _bytes;
    private readonly int _hash;

    private PublicKey(Algorithm algorithm, byte[] bytes)
    {
        Algorithm = algorithm;
        _bytes = bytes;
        var h = new HashCode();
        h.Add((int)algorithm);
        h.AddBytes(bytes);
        _hash = h.ToHashCode();
    }

    /// <summary>The key's algorithm.</summary>
    public Algorithm Algorithm { get; }

    /// <summary>The canonical key bytes (read-only view).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Returns a copy of the canonical key bytes.</summary>
    public byte[] ToBytes() => (byte[])_bytes.Clone();

    /// <summary>Decodes a key from its bytes. Secp256r1 keys may be compressed (33 bytes) or uncompressed (65 bytes).</summary>
    /// <exception cref="BiscuitFormatException">Wrong size or not a valid point (<see cref="FormatErrorKind.InvalidKey"/>, <see cref="FormatErrorKind.InvalidKeySize"/>).</exception>
    public static PublicKey FromBytes(ReadOnlySpan<byte> bytes, Algorithm algorithm)
    {
        switch (algorithm)
        {
            case Algorithm.Ed25519:
                if (bytes.Length != Aim.Crypto.Ed25519.PublicKeySize)
                    throw new BiscuitFormatException(FormatErrorKind.InvalidKeySize, $"invalid ed25519 public key size: {bytes.Length}");
                return new PublicKey(algorithm, bytes.ToArray());
            case Algorithm.Secp256r1:
                return new PublicKey(algorithm, P256.CompressPublicKey(bytes));
            default:
                throw new BiscuitFormatException(FormatErrorKind.InvalidKey, $"unsupported key algorithm {(int)algorithm}");
        }
    }

    /// <summary>Parses <c>ed25519/&lt;hex&gt;</c> or <c>secp256r1/&lt;hex&gt;</c>.</summary>
    /// <exception cref="BiscuitFormatException">Unknown prefix, bad hex or invalid key (<see cref="FormatErrorKind.InvalidKey"/>).</exception>
    public static PublicKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var slash = text.IndexOf('/');
        if (slash < 0) throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "missing key algorithm");
        var algorithm = text[..slash] switch
        {
            "ed25519" => Algorithm.Ed25519,
            "secp256r1" => Algorithm.Secp256r1,
            var other => throw new BiscuitFormatException(FormatErrorKind.InvalidKey, $"unsupported key algorithm {other}"),
        };
        return FromBytes(Hex.Decode(text[(slash + 1)..]), algorithm);
    }

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="data"/>.</summary>
    /// <exception cref="BiscuitFormatException">
    /// <see cref="FormatErrorKind.BlockSignatureDeserializationError"/> for a malformed signature,
    /// <see cref="FormatErrorKind.InvalidSignature"/> when it does not verify.
    /// </exception>
    public void Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (Algorithm == Algorithm.Ed25519)
        {
            if (signature.Length != Aim.Crypto.Ed25519.SignatureSize)
                throw new BiscuitFormatException(FormatErrorKind.BlockSignatureDeserializationError,
                    "block signature deserialization error: [" + string.Join(", ", signature.ToArray()) + "]");
            if (!Aim.Crypto.Ed25519.Verify(_bytes, data, signature))
                throw new BiscuitFormatException(FormatErrorKind.InvalidSignature, "signature error: Verification equation was not satisfied");
            return;
        }

        if (!P256.IsDerSignature(signature))
            throw new BiscuitFormatException(FormatErrorKind.BlockSignatureDeserializationError, "block signature deserialization error: signature::Error { source: None }");
        using var ecdsa = P256.ImportPublic(_bytes);
        bool ok;
        try
        {
            ok = ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            ok = false;
        }
        if (!ok) throw new BiscuitFormatException(FormatErrorKind.InvalidSignature, "signature error: signature::Error { source: None }");
    }

    /// <summary>The text form, <c>ed25519/&lt;hex&gt;</c> or <c>secp256r1/&lt;hex&gt;</c>.</summary>
    public override string ToString() => (Algorithm == Algorithm.Ed25519 ? "ed25519/" : "secp256r1/") + Convert.ToHexStringLower(_bytes);

    /// <inheritdoc />
    public bool Equals(PublicKey? other) => other is not null && other.Algorithm == Algorithm && other._bytes.AsSpan().SequenceEqual(_bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PublicKey);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;

    internal static class P256
    {
        internal static byte[] CompressPublicKey(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length != 33 && bytes.Length != 65)
                throw new BiscuitFormatException(FormatErrorKind.InvalidKey, $"invalid secp256r1 public key size: {bytes.Length}");
            using var ecdsa = ImportPublic(bytes);
            var q = ecdsa.ExportParameters(false).Q;
            return Compress(q.X!, q.Y!);
        }

        internal static byte[] Compress(byte[] x, byte[] y)
        {
            var result = new byte[33];
            result[0] = (byte)(0x02 | (y[^1] & 1));
            x.CopyTo(result, 1);
            return result;
        }

        internal static ECDsa ImportPublic(ReadOnlySpan<byte> point)
        {
            var ecdsa = ECDsa.Create();
            try
            {
                if (point.Length == 65 && point[0] == 4)
                {
                    ecdsa.ImportParameters(new ECParameters
                    {
                        Curve = ECCurve.NamedCurves.nistP256,
                        Q = new ECPoint { X = point.Slice(1, 32).ToArray(), Y = point.Slice(33, 32).ToArray() },
                    });
                    return ecdsa;
                }
                if (point.Length != 33 || (point[0] != 2 && point[0] != 3))
                    throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "invalid secp256r1 point encoding");
                var x = point.Slice(1, 32).ToArray();
                var y = DecompressY(x, point[0] == 3);
                // ImportParameters validates that (x, y) is on the curve.
                ecdsa.ImportParameters(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    Q = new ECPoint { X = x, Y = y },
                });
                return ecdsa;
            }
            catch (CryptographicException e)
            {
                ecdsa.Dispose();
                throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "invalid secp256r1 public key: " + e.Message, e);
            }
            catch
            {
                ecdsa.Dispose();
                throw;
            }
        }

        private static readonly System.Numerics.BigInteger Prime =
            System.Numerics.BigInteger.Parse("0ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", System.Globalization.NumberStyles.HexNumber);
        private static readonly System.Numerics.BigInteger CurveB =
            System.Numerics.BigInteger.Parse("05ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b", System.Globalization.NumberStyles.HexNumber);

        /// <summary>
        /// SEC1 point decompression for P-256 (public data only): y = sqrt(x^3 - 3x + b) mod p, with
        /// p = 3 mod 4 so sqrt(a) = a^((p+1)/4). Signature math stays in the platform's ECDsa.
        /// </summary>
        private static byte[] DecompressY(byte[] xBytes, bool odd)
        {
            var x = new System.Numerics.BigInteger(xBytes, isUnsigned: true, isBigEndian: true);
            if (x >= Prime) throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "invalid secp256r1 point: x out of range");
            var rhs = ((System.Numerics.BigInteger.ModPow(x, 3, Prime) - 3 * x + CurveB) % Prime + Prime) % Prime;
            var y = System.Numerics.BigInteger.ModPow(rhs, (Prime + 1) / 4, Prime);
            if (System.Numerics.BigInteger.ModPow(y, 2, Prime) != rhs)
                throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "invalid secp256r1 point: not on the curve");
            if (y.IsEven == odd) y = Prime - y;
            var bytes = y.ToByteArray(isUnsigned: true, isBigEndian: true);
            var result = new byte[32];
            bytes.CopyTo(result, 32 - bytes.Length);
            return result;
        }

        /// <summary>Structural check of an ASN.1 DER <c>SEQUENCE { INTEGER r, INTEGER s }</c>.</summary>
        internal static bool IsDerSignature(ReadOnlySpan<byte> sig)
        {
            try
            {
                var reader = new System.Formats.Asn1.AsnReader(sig.ToArray(), System.Formats.Asn1.AsnEncodingRules.DER);
                var seq = reader.ReadSequence();
                seq.ReadInteger();
                seq.ReadInteger();
                return !seq.HasData && !reader.HasData;
            }
            catch (System.Formats.Asn1.AsnContentException)
            {
                return false;
            }
        }
    }
}

internal static class Hex
{
    internal static byte[] Decode(string hex)
    {
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException e)
        {
            throw new BiscuitFormatException(FormatErrorKind.InvalidKey, "invalid hex: " + e.Message, e);
        }
    }
}
