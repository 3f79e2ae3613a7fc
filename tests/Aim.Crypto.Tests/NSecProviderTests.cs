using System.Numerics;

namespace Aim.Crypto.Tests;

/// <summary>The facade over NSec: raw-key paths, hostile keys and signatures, and where libsodium comes from.</summary>
public class NSecProviderTests
{
    private static readonly byte[] Rfc8032Seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    private static readonly byte[] Rfc8032Public = Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    private static readonly byte[] Rfc8032EmptySignature = Convert.FromHexString(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");

    [Fact]
    public void Static_key_derivation_and_signing_match_RFC_8032()
    {
        var pk = new byte[32];
        var sk = new byte[64];
        Ed25519.KeyPairFromSeed(Rfc8032Seed, pk, sk);
        Assert.Equal(Rfc8032Public, pk);
        Assert.Equal(Rfc8032Seed, sk[..32]);
        Assert.Equal(Rfc8032Public, sk[32..]);

        var signature = new byte[64];
        Ed25519.Sign(sk, [], signature);
        Assert.Equal(Rfc8032EmptySignature, signature);

        var seed = new byte[32];
        Ed25519.SeedFromSecretKey(sk, seed);
        Assert.Equal(Rfc8032Seed, seed);
    }

    [Fact]
    public void Generated_key_pairs_are_distinct_and_self_consistent()
    {
        var pk1 = new byte[32];
        var sk1 = new byte[64];
        var pk2 = new byte[32];
        var sk2 = new byte[64];
        Ed25519.GenerateKeyPair(pk1, sk1);
        Ed25519.GenerateKeyPair(pk2, sk2);
        Assert.NotEqual(sk1, sk2);

        using var pair = Ed25519KeyPair.FromSecretKey(sk1);
        Assert.Equal(pk1, pair.PublicKey.ToArray());
        var signature = new byte[64];
        Ed25519.Sign(sk1, "msg"u8, signature);
        Assert.True(Ed25519.Verify(pk1, "msg"u8, signature));
        Assert.False(Ed25519.Verify(pk2, "msg"u8, signature));
    }

    [Fact]
    public void Static_sign_refuses_a_secret_key_whose_public_half_is_not_its_own()
    {
        // Signing with a foreign public half would let an observer of two signatures recover the key.
        var sk = new byte[64];
        Rfc8032Seed.CopyTo(sk, 0);
        var other = new byte[32];
        var otherSk = new byte[64];
        Ed25519.GenerateKeyPair(other, otherSk);
        other.CopyTo(sk, 32);

        var signature = new byte[64];
        Assert.Throws<ArgumentException>(() => Ed25519.Sign(sk, "x"u8, signature));
        Assert.All(signature, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(63, 64)]
    [InlineData(64, 63)]
    [InlineData(32, 64)]
    public void Static_sign_refuses_wrong_buffer_sizes(int secretKeySize, int signatureSize)
    {
        Assert.Throws<ArgumentException>(() => Ed25519.Sign(new byte[secretKeySize], "x"u8, new byte[signatureSize]));
    }

    [Fact]
    public void Key_pair_refuses_a_signature_buffer_of_the_wrong_size()
    {
        using var pair = Ed25519KeyPair.FromSeed(Rfc8032Seed);
        Assert.Throws<ArgumentException>(() => pair.Sign("x"u8, new byte[63]));
    }

    [Fact]
    public void Non_canonical_S_is_refused()
    {
        // S + L encodes the same scalar; RFC 8032 (and libsodium) require S < L, so the malleated copy must fail.
        var l = BigInteger.Parse("7237005577332262213973186563042994240857116359379907606001950938285454250989");
        var s = new BigInteger(Rfc8032EmptySignature.AsSpan(32), isUnsigned: true, isBigEndian: false);
        var malleated = (byte[])Rfc8032EmptySignature.Clone();
        var sPlusL = (s + l).ToByteArray(isUnsigned: true, isBigEndian: false);
        Array.Clear(malleated, 32, 32);
        sPlusL.CopyTo(malleated, 32);

        Assert.True(Ed25519.Verify(Rfc8032Public, [], Rfc8032EmptySignature));
        Assert.False(Ed25519.Verify(Rfc8032Public, [], malleated));
    }

    public static TheoryData<string> SmallOrderKeys => new()
    {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000", // the identity point
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // -1: order 2
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
    };

    [Theory]
    [MemberData(nameof(SmallOrderKeys))]
    public void Small_order_public_keys_never_verify(string publicHex)
    {
        // With a small-order key, R = identity and S = 0 would "verify" any message under a lax verifier.
        var signature = new byte[64];
        signature[0] = 1;
        Assert.False(Ed25519.Verify(Convert.FromHexString(publicHex), "anything"u8, signature));
        Assert.False(Ed25519.Verify(Convert.FromHexString(publicHex), "anything"u8, new byte[64]));
    }

    [Fact]
    public void Exports_after_dispose_are_refused()
    {
        var pair = Ed25519KeyPair.FromSeed(Rfc8032Seed);
        pair.Dispose();
        pair.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pair.ExportSeed());
        Assert.Throws<ObjectDisposedException>(() => pair.ExportSecretKey());
        Assert.Equal(Rfc8032Public, pair.PublicKey.ToArray());
    }

    [Fact]
    public void Wipe_zeroes_the_buffer()
    {
        var secret = (byte[])Rfc8032Seed.Clone();
        Ed25519.Wipe(secret);
        Assert.All(secret, b => Assert.Equal(0, b));
        Ed25519.Wipe([]);
    }

    [Fact]
    public void Libsodium_is_the_copy_shipped_with_the_application_not_a_system_library()
    {
        Assert.True(OperatingSystem.IsLinux(), "the test suite runs on Linux; /proc/self/maps shows the loaded libraries");
        using var pair = Ed25519KeyPair.FromSeed(Rfc8032Seed);
        _ = pair.Sign("load"u8);

        var loaded = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6 && parts[5].Contains("libsodium", StringComparison.Ordinal))
            .Select(parts => parts[5])
            .Distinct()
            .ToList();

        var path = Assert.Single(loaded);
        Assert.StartsWith(AppContext.BaseDirectory, path, StringComparison.Ordinal);
        Assert.Contains("/runtimes/", path, StringComparison.Ordinal);
    }
}
