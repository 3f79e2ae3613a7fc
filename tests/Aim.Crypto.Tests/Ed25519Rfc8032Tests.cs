using Aim.Crypto;

namespace Aim.Crypto.Tests;

public class Ed25519Rfc8032Tests
{
    // RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3 and TEST SHA(abc).
    public static TheoryData<string, string, string, string> Vectors => new()
    {
        {
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        },
        {
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        },
        {
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        },
        {
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Seed_derives_the_published_public_key_and_signature(string seedHex, string publicHex, string messageHex, string signatureHex)
    {
        using var pair = Ed25519KeyPair.FromSeed(Convert.FromHexString(seedHex));
        var message = Convert.FromHexString(messageHex);

        Assert.Equal(publicHex, Convert.ToHexStringLower(pair.PublicKey));
        Assert.Equal(signatureHex, Convert.ToHexStringLower(pair.Sign(message)));
        Assert.True(Ed25519.Verify(Convert.FromHexString(publicHex), message, Convert.FromHexString(signatureHex)));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Any_flipped_bit_in_signature_or_message_fails_verification(string seedHex, string publicHex, string messageHex, string signatureHex)
    {
        _ = seedHex;
        var pk = Convert.FromHexString(publicHex);
        var message = Convert.FromHexString(messageHex);
        var signature = Convert.FromHexString(signatureHex);
        for (int bit = 0; bit < signature.Length * 8; bit += 7)
        {
            var bad = (byte[])signature.Clone();
            bad[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(Ed25519.Verify(pk, message, bad));
        }

        var longer = message.Append((byte)0).ToArray();
        Assert.False(Ed25519.Verify(pk, longer, signature));
    }

    [Fact]
    public void Secret_key_export_and_import_round_trip()
    {
        using var pair = Ed25519KeyPair.Generate();
        var sk = pair.ExportSecretKey();
        var seed = pair.ExportSeed();
        using var fromSk = Ed25519KeyPair.FromSecretKey(sk);
        using var fromSeed = Ed25519KeyPair.FromSeed(seed);
        Assert.True(fromSk.PublicKey.SequenceEqual(pair.PublicKey));
        Assert.True(fromSeed.PublicKey.SequenceEqual(pair.PublicKey));
        Assert.Equal(seed, sk[..32]);
        var sig = fromSk.Sign("hello"u8);
        Assert.True(pair.Verify("hello"u8, sig));
    }

    [Fact]
    public void Secret_key_whose_public_half_is_foreign_is_refused()
    {
        using var a = Ed25519KeyPair.Generate();
        using var b = Ed25519KeyPair.Generate();
        var forged = a.ExportSeed().Concat(b.PublicKey.ToArray()).ToArray();
        Assert.Throws<ArgumentException>(() => Ed25519KeyPair.FromSecretKey(forged));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void Wrong_seed_size_is_refused(int size)
    {
        Assert.Throws<ArgumentException>(() => Ed25519KeyPair.FromSeed(new byte[size]));
    }

    [Fact]
    public void Verify_with_wrong_sizes_returns_false_rather_than_throwing()
    {
        Assert.False(Ed25519.Verify(new byte[31], "x"u8, new byte[64]));
        Assert.False(Ed25519.Verify(new byte[32], "x"u8, new byte[63]));
    }

    [Fact]
    public void ToString_never_shows_secret_material()
    {
        using var pair = Ed25519KeyPair.FromSeed(Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
        Assert.DoesNotContain("9d61b19d", pair.ToString());
        Assert.Contains("d75a9801", pair.ToString());
    }

    [Fact]
    public void Disposed_key_cannot_sign()
    {
        var pair = Ed25519KeyPair.Generate();
        pair.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pair.Sign("x"u8));
    }
}
