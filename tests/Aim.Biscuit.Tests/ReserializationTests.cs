using Aim.Biscuit.Format;
using Google.Protobuf;

namespace Aim.Biscuit.Tests;

public sealed class ReserializationTests
{
    /// <summary>
    /// Decodes every block of every valid sample token into the Datalog model, encodes it again with
    /// the symbol and key tables the block was written with, and checks the bytes are identical so the
    /// original signatures still verify.
    /// </summary>
    [Fact]
    public void Every_sample_block_reencodes_byte_for_byte_and_still_verifies()
    {
        if (!Samples.RequireOrFailInCi()) return;
        var checkedBlocks = 0;
        foreach (var testCase in Samples.TestCases)
        {
            var filename = (string)testCase["filename"]!;
            BiscuitToken token;
            try
            {
                token = BiscuitToken.FromBytes(Samples.Token(filename), Samples.RootPublicKey);
            }
            catch (BiscuitFormatException)
            {
                continue; // the invalid-signature samples
            }

            var symbols = new SymbolTable();
            var keys = new PublicKeyTable();
            var signed = token.Container.AllBlocks.ToList();
            for (var i = 0; i < token.Blocks.Count; i++)
            {
                var block = token.Blocks[i];
                var thirdParty = block.ExternalKey is not null;
                var (s, k) = thirdParty ? (new SymbolTable(), new PublicKeyTable()) : (symbols, keys);
                var proto = ProtoConverter.EncodeBlock(block.Facts, block.Rules, block.Checks, block.Scopes, block.Context, s, k, thirdParty);
                Assert.True(signed[i].Data.AsSpan().SequenceEqual(proto.ToByteArray()), $"{filename} block {i} re-encoded differently");
                checkedBlocks++;
            }

            // Rebuild the envelope from the re-encoded blocks and verify the whole chain again.
            var reparsed = BiscuitToken.FromBytes(token.ToBytes(), Samples.RootPublicKey);
            Assert.Equal(token.RevocationIds.Select(Convert.ToHexString), reparsed.RevocationIds.Select(Convert.ToHexString));
        }
        Assert.True(checkedBlocks > 40, $"only {checkedBlocks} blocks checked");
    }

    [Fact]
    public void Every_valid_sample_envelope_reserializes_identically()
    {
        if (!Samples.RequireOrFailInCi()) return;
        foreach (var testCase in Samples.TestCases)
        {
            var bytes = Samples.Token((string)testCase["filename"]!);
            BiscuitToken token;
            try
            {
                token = BiscuitToken.FromBytes(bytes, Samples.RootPublicKey);
            }
            catch (BiscuitFormatException)
            {
                continue;
            }
            Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(token.ToBytes()));
        }
    }
}
