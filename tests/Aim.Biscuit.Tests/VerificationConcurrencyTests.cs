using Google.Protobuf;
using Proto = global::Biscuit.Format.Schema;

namespace Aim.Biscuit.Tests;

/// <summary>
/// Concurrent verification must decide exactly as the single-threaded chain order does: same acceptance,
/// same error (kind and message) when several checks fail at once.
/// </summary>
public sealed class VerificationConcurrencyTests
{
    private static readonly BiscuitParseOptions SingleThreaded = new() { Concurrency = VerificationConcurrency.SingleThreaded };
    private static readonly BiscuitParseOptions Concurrent = new() { Concurrency = VerificationConcurrency.Concurrent };

    [Fact]
    public void Samples_and_their_mutants_get_the_same_outcome_either_way()
    {
        if (!Samples.RequireOrFailInCi()) return;
        var random = new Random(20261122);
        var compared = 0;
        foreach (var testCase in Samples.TestCases)
        {
            var original = Samples.Token((string)testCase["filename"]!);
            for (var i = 0; i < 40; i++)
            {
                var token = i == 0 ? original : FlipBit(original, random);
                Assert.Equal(Outcome(token, Samples.RootPublicKey, SingleThreaded), Outcome(token, Samples.RootPublicKey, Concurrent));
                compared++;
            }
        }
        Assert.True(compared >= 37 * 40);
    }

    [Theory]
    [InlineData(VerificationConcurrency.SingleThreaded)]
    [InlineData(VerificationConcurrency.Concurrent)]
    [InlineData(VerificationConcurrency.Auto)]
    public void Valid_multi_block_token_verifies(VerificationConcurrency concurrency)
    {
        using var root = KeyPair.Generate();
        var bytes = ThreeBlocks(root).ToBytes();
        var token = BiscuitToken.FromBytes(bytes, root.PublicKey, new BiscuitParseOptions { Concurrency = concurrency });
        Assert.Equal(3, token.Blocks.Count);
        Assert.True(token.IsVerified);
    }

    [Theory]
    [InlineData(VerificationConcurrency.SingleThreaded)]
    [InlineData(VerificationConcurrency.Concurrent)]
    public void Removing_the_last_block_is_detected_by_the_proof(VerificationConcurrency concurrency)
    {
        using var root = KeyPair.Generate();
        var proto = Proto.Biscuit.Parser.ParseFrom(ThreeBlocks(root).ToBytes());
        proto.Blocks.RemoveAt(proto.Blocks.Count - 1);
        var e = Assert.Throws<BiscuitFormatException>(() =>
            BiscuitToken.FromBytes(proto.ToByteArray(), root.PublicKey, new BiscuitParseOptions { Concurrency = concurrency }));
        Assert.Equal(FormatErrorKind.InvalidSignature, e.Kind);
        Assert.Contains("does not match the private key", e.Message);
    }

    [Fact]
    public void With_several_failures_the_first_in_chain_order_is_reported()
    {
        using var root = KeyPair.Generate();
        var proto = Proto.Biscuit.Parser.ParseFrom(ThreeBlocks(root).ToBytes());
        // A malformed signature on the last block and a proof that does not match: the signature comes first.
        proto.Blocks[^1].Signature = ByteString.CopyFrom(new byte[10]);
        proto.Proof.NextSecret = ByteString.CopyFrom(new byte[32]);
        var bytes = proto.ToByteArray();
        for (var i = 0; i < 50; i++)
        {
            var single = Assert.Throws<BiscuitFormatException>(() => BiscuitToken.FromBytes(bytes, root.PublicKey, SingleThreaded));
            var concurrent = Assert.Throws<BiscuitFormatException>(() => BiscuitToken.FromBytes(bytes, root.PublicKey, Concurrent));
            Assert.Equal(FormatErrorKind.BlockSignatureDeserializationError, single.Kind);
            Assert.Equal((single.Kind, single.Message), (concurrent.Kind, concurrent.Message));
        }
    }

    [Fact]
    public void Forged_authority_signature_fails_even_when_every_other_check_passes()
    {
        using var root = KeyPair.Generate();
        using var other = KeyPair.Generate();
        var bytes = ThreeBlocks(root).ToBytes();
        var e = Assert.Throws<BiscuitFormatException>(() => BiscuitToken.FromBytes(bytes, other.PublicKey, Concurrent));
        Assert.Equal(FormatErrorKind.InvalidSignature, e.Kind);
    }

    [Fact]
    public void Sealed_and_third_party_tokens_verify_concurrently()
    {
        using var root = KeyPair.Generate();
        using var thirdParty = KeyPair.Generate(Algorithm.Secp256r1);
        var token = ThreeBlocks(root);
        var request = token.CreateThirdPartyRequest();
        var contents = request.CreateBlock(thirdParty, new BlockBuilder().AddCode("partner(\"x\");"));
        var sealedToken = token.AppendThirdPartyBlock(contents).Seal();
        var parsed = BiscuitToken.FromBytes(sealedToken.ToBytes(), root.PublicKey, Concurrent);
        Assert.True(parsed.IsSealed);
        Assert.Equal(thirdParty.PublicKey, parsed.Blocks[^1].ExternalKey);
        var bytes = sealedToken.ToBytes();
        Assert.Equal("ok:4", Outcome(bytes, root.PublicKey, SingleThreaded));
        Assert.Equal("ok:4", Outcome(bytes, root.PublicKey, Concurrent));
    }

    private static BiscuitToken ThreeBlocks(KeyPair root) =>
        BiscuitToken.CreateBuilder().AddCode("user(\"alice\"); right(\"file1\", \"read\");").Build(root)
            .Attenuate(new BlockBuilder().AddCode("check if operation(\"read\");"))
            .Attenuate(new BlockBuilder().AddCode("check if resource(\"file1\");"));

    private static string Outcome(byte[] token, PublicKey root, BiscuitParseOptions options)
    {
        try
        {
            return "ok:" + BiscuitToken.FromBytes(token, root, options).Blocks.Count;
        }
        catch (BiscuitException e)
        {
            return e.Code + ":" + e.Message;
        }
    }

    private static byte[] FlipBit(byte[] original, Random random)
    {
        var data = (byte[])original.Clone();
        data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
        return data;
    }
}
