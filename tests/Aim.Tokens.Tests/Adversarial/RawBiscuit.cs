using Aim.Biscuit;
using Aim.Crypto;
using Google.Protobuf;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>
/// The attacker's Biscuit toolbox: blocks from raw Datalog text through Aim.Biscuit's builder (never through
/// <see cref="Chained.ChainedToken"/>), and protobuf wire surgery on serialized tokens.
/// </summary>
internal static class RawBiscuit
{
    public static KeyPair Key(Ed25519KeyPair pair) => KeyPair.FromPrivateKey(pair.ExportSeed(), Algorithm.Ed25519);

    public static BiscuitToken Authority(Ed25519KeyPair root, string code)
    {
        var builder = BiscuitToken.CreateBuilder();
        builder.AddCode(code);
        using var key = Key(root);
        return builder.Build(key);
    }

    public static BiscuitToken ThirdParty(BiscuitToken token, Ed25519KeyPair signer, string code)
    {
        using var key = Key(signer);
        var block = new BlockBuilder().AddCode(code);
        return token.AppendThirdPartyBlock(token.CreateThirdPartyRequest().CreateBlock(key, block));
    }

    public static BiscuitToken FirstParty(BiscuitToken token, string code) => token.Attenuate(new BlockBuilder().AddCode(code));

    public static string Text(BiscuitToken token) => token.ToBase64();

    public static string Text(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    /// <summary>A token split into its top-level protobuf fields: root key id, authority, blocks, proof.</summary>
    public sealed class Wire
    {
        public List<(int Field, byte[] Raw)> Fields { get; } = [];

        public static Wire Parse(BiscuitToken token)
        {
            var wire = new Wire();
            var input = new CodedInputStream(token.ToBytes());
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                var field = WireFormat.GetTagFieldNumber(tag);
                if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    wire.Fields.Add((field, input.ReadBytes().ToByteArray()));
                }
                else
                {
                    wire.Fields.Add((field, BitConverter.GetBytes(input.ReadUInt32())));
                }
            }

            return wire;
        }

        public List<int> BlockIndexes() => Fields.Select((f, i) => (f, i)).Where(x => x.f.Field == 3).Select(x => x.i).ToList();

        public int AuthorityIndex() => Fields.FindIndex(f => f.Field == 2);

        public byte[] ToBytes()
        {
            using var stream = new MemoryStream();
            var output = new CodedOutputStream(stream);
            foreach (var (field, raw) in Fields)
            {
                if (field == 1)
                {
                    output.WriteTag(field, WireFormat.WireType.Varint);
                    output.WriteUInt32(BitConverter.ToUInt32(raw));
                }
                else
                {
                    output.WriteTag(field, WireFormat.WireType.LengthDelimited);
                    output.WriteBytes(ByteString.CopyFrom(raw));
                }
            }

            output.Flush();
            return stream.ToArray();
        }
    }

    /// <summary>Splits a SignedBlock into its fields (1 block, 2 next key, 3 signature, 4 external signature, 5 version).</summary>
    public static List<(int Field, WireFormat.WireType Type, byte[] Raw)> SignedBlockFields(byte[] signedBlock)
    {
        var fields = new List<(int, WireFormat.WireType, byte[])>();
        var input = new CodedInputStream(signedBlock);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var type = WireFormat.GetTagWireType(tag);
            fields.Add((WireFormat.GetTagFieldNumber(tag), type,
                type == WireFormat.WireType.LengthDelimited ? input.ReadBytes().ToByteArray() : BitConverter.GetBytes(input.ReadUInt32())));
        }

        return fields;
    }

    public static byte[] JoinSignedBlock(List<(int Field, WireFormat.WireType Type, byte[] Raw)> fields)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        foreach (var (field, type, raw) in fields)
        {
            output.WriteTag(field, type);
            if (type == WireFormat.WireType.LengthDelimited)
            {
                output.WriteBytes(ByteString.CopyFrom(raw));
            }
            else
            {
                output.WriteUInt32(BitConverter.ToUInt32(raw));
            }
        }

        output.Flush();
        return stream.ToArray();
    }
}
