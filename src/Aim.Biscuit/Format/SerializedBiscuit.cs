using System.Buffers.Binary;
using Google.Protobuf;
using Proto = global::Biscuit.Format.Schema;

namespace Aim.Biscuit.Format;

/// <summary>An external (third-party) signature of a block.</summary>
internal sealed record ExternalSignatureData(PublicKey Key, byte[] Signature);

/// <summary>A block as carried in the envelope: payload bytes, next key, signature(s) and signature version.</summary>
internal sealed record SignedBlockData(byte[] Data, PublicKey NextKey, byte[] Signature, ExternalSignatureData? External, uint SignatureVersion);

/// <summary>
/// The token envelope: serialized blocks and the signature chain (payload v0 and the tagged v1),
/// the proof (next secret or sealing signature) and the optional root key id. No Datalog knowledge.
/// </summary>
internal sealed class SerializedBiscuit
{
    private SerializedBiscuit(uint? rootKeyId, SignedBlockData authority, IReadOnlyList<SignedBlockData> blocks, byte[]? nextSecret, byte[]? finalSignature)
    {
        RootKeyId = rootKeyId;
        Authority = authority;
        Blocks = blocks;
        NextSecret = nextSecret;
        FinalSignature = finalSignature;
    }

    internal uint? RootKeyId { get; }
    internal SignedBlockData Authority { get; }
    internal IReadOnlyList<SignedBlockData> Blocks { get; }
    internal byte[]? NextSecret { get; }
    internal byte[]? FinalSignature { get; }
    internal bool IsSealed => FinalSignature is not null;
    internal SignedBlockData LastBlock => Blocks.Count > 0 ? Blocks[^1] : Authority;
    internal IEnumerable<SignedBlockData> AllBlocks => Blocks.Prepend(Authority);

    internal static SerializedBiscuit Deserialize(ReadOnlySpan<byte> bytes)
    {
        Proto.Biscuit data;
        try
        {
            data = Proto.Biscuit.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: " + e.Message, e);
        }
        if (data.Authority is null) throw Missing("authority block");
        if (data.Proof is null) throw Missing("proof");
        if (data.Authority.ExternalSignature is not null)
            throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "the authority block must not contain an external signature");

        var authority = ReadSigned(data.Authority);
        var blocks = new List<SignedBlockData>(data.Blocks.Count);
        foreach (var b in data.Blocks)
        {
            var signed = ReadSigned(b);
            if (signed.External is not null && signed.SignatureVersion != 1)
                throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "Unsupported third party block version");
            blocks.Add(signed);
        }

        byte[]? secret = null, seal = null;
        switch (data.Proof.ContentCase)
        {
            case Proto.Proof.ContentOneofCase.NextSecret: secret = data.Proof.NextSecret.ToByteArray(); break;
            case Proto.Proof.ContentOneofCase.FinalSignature: seal = data.Proof.FinalSignature.ToByteArray(); break;
            default: throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "could not find proof");
        }
        return new SerializedBiscuit(data.HasRootKeyId ? data.RootKeyId : null, authority, blocks, secret, seal);
    }

    private static BiscuitFormatException Missing(string what) => new(FormatErrorKind.DeserializationError, $"deserialization error: missing {what}");

    private static SignedBlockData ReadSigned(Proto.SignedBlock b)
    {
        if (!b.HasBlock || !b.HasSignature) throw Missing("block payload or signature");
        ExternalSignatureData? external = null;
        if (b.ExternalSignature is not null)
        {
            if (!b.ExternalSignature.HasSignature) throw Missing("external signature");
            external = new ExternalSignatureData(ProtoConverter.DecodeKey(b.ExternalSignature.PublicKey), b.ExternalSignature.Signature.ToByteArray());
        }
        return new SignedBlockData(b.Block.ToByteArray(), ProtoConverter.DecodeKey(b.NextKey), b.Signature.ToByteArray(), external,
            b.HasVersion ? b.Version : 0);
    }

    /// <summary>Verifies every signature of the chain, then the proof.</summary>
    /// <exception cref="BiscuitFormatException">A signature or the proof is invalid.</exception>
    internal void Verify(PublicKey root)
    {
        root.Verify(AuthorityPayload(Authority.Data, Authority.NextKey, Authority.SignatureVersion), Authority.Signature);
        var currentKey = Authority.NextKey;
        var previousSignature = Authority.Signature;
        foreach (var block in Blocks)
        {
            currentKey.Verify(BlockPayload(block.Data, block.NextKey, block.External, previousSignature, block.SignatureVersion), block.Signature);
            if (block.External is not null)
                block.External.Key.Verify(ExternalPayload(block.Data, previousSignature, block.SignatureVersion), block.External.Signature);
            currentKey = block.NextKey;
            previousSignature = block.Signature;
        }

        if (NextSecret is not null)
        {
            using var next = PrivateKeyOf(currentKey.Algorithm);
            if (!next.PublicKey.Equals(currentKey))
                throw new BiscuitFormatException(FormatErrorKind.InvalidSignature, "the last public key does not match the private key");
        }
        else
        {
            currentKey.Verify(SealPayload(LastBlock), FinalSignature);
        }
    }

    /// <summary>The key pair of the proof's next secret.</summary>
    /// <exception cref="BiscuitFormatException"><see cref="FormatErrorKind.AlreadySealed"/> for a sealed token.</exception>
    internal KeyPair NextKeyPair() =>
        NextSecret is null
            ? throw new BiscuitFormatException(FormatErrorKind.AlreadySealed, "the token is sealed")
            : PrivateKeyOf(LastBlock.NextKey.Algorithm);

    private KeyPair PrivateKeyOf(Algorithm algorithm) => KeyPair.FromPrivateKey(NextSecret!, algorithm);

    internal static SerializedBiscuit Create(uint? rootKeyId, KeyPair root, KeyPair next, byte[] data, uint blockVersion)
    {
        var version = SignatureVersion(root, next, null, blockVersion, []);
        var signature = root.Sign(AuthorityPayload(data, next.PublicKey, version));
        return new SerializedBiscuit(rootKeyId, new SignedBlockData(data, next.PublicKey, signature, null, version), [], next.ExportPrivateKey(), null);
    }

    internal SerializedBiscuit Append(KeyPair next, byte[] data, ExternalSignatureData? external, uint? blockVersion)
    {
        using var current = NextKeyPair();
        var version = SignatureVersion(current, next, external, blockVersion, AllBlocks.Select(b => b.SignatureVersion));
        var signature = current.Sign(BlockPayload(data, next.PublicKey, external, LastBlock.Signature, version));
        var blocks = new List<SignedBlockData>(Blocks) { new(data, next.PublicKey, signature, external, version) };
        return new SerializedBiscuit(RootKeyId, Authority, blocks, next.ExportPrivateKey(), null);
    }

    internal SerializedBiscuit Seal()
    {
        using var current = NextKeyPair();
        var signature = current.Sign(SealPayload(LastBlock));
        return new SerializedBiscuit(RootKeyId, Authority, Blocks, null, signature);
    }

    internal byte[] ToBytes()
    {
        var proto = new Proto.Biscuit { Authority = WriteSigned(Authority), Proof = new Proto.Proof() };
        if (RootKeyId is { } id) proto.RootKeyId = id;
        foreach (var b in Blocks) proto.Blocks.Add(WriteSigned(b));
        if (NextSecret is not null) proto.Proof.NextSecret = ByteString.CopyFrom(NextSecret);
        else proto.Proof.FinalSignature = ByteString.CopyFrom(FinalSignature);
        return proto.ToByteArray();
    }

    private static Proto.SignedBlock WriteSigned(SignedBlockData b)
    {
        var result = new Proto.SignedBlock
        {
            Block = ByteString.CopyFrom(b.Data),
            NextKey = ProtoConverter.EncodeKey(b.NextKey),
            Signature = ByteString.CopyFrom(b.Signature),
        };
        if (b.External is not null)
            result.ExternalSignature = new Proto.ExternalSignature { Signature = ByteString.CopyFrom(b.External.Signature), PublicKey = ProtoConverter.EncodeKey(b.External.Key) };
        if (b.SignatureVersion > 0) result.Version = b.SignatureVersion;
        return result;
    }

    /// <summary>Signature payload version: v1 for third-party blocks, Datalog v3.3 blocks, non-Ed25519 keys, or after any v1 block.</summary>
    private static uint SignatureVersion(KeyPair signer, KeyPair next, ExternalSignatureData? external, uint? blockVersion, IEnumerable<uint> previous)
    {
        if (external is not null) return 1;
        if (blockVersion >= 6) return 1;
        if (signer.Algorithm != Algorithm.Ed25519 || next.Algorithm != Algorithm.Ed25519) return 1;
        return previous.DefaultIfEmpty(0u).Max();
    }

    // ---------- signed payloads ----------

    private static readonly byte[] BlockTag = "\0BLOCK\0\0VERSION\0"u8.ToArray();
    private static readonly byte[] ExternalTag = "\0EXTERNAL\0\0VERSION\0"u8.ToArray();
    private static readonly byte[] PayloadTag = "\0PAYLOAD\0"u8.ToArray();
    private static readonly byte[] AlgorithmTag = "\0ALGORITHM\0"u8.ToArray();
    private static readonly byte[] NextKeyTag = "\0NEXTKEY\0"u8.ToArray();
    private static readonly byte[] PrevSigTag = "\0PREVSIG\0"u8.ToArray();
    private static readonly byte[] ExternalSigTag = "\0EXTERNALSIG\0"u8.ToArray();

    internal static byte[] AuthorityPayload(byte[] data, PublicKey nextKey, uint version) => version switch
    {
        0 => Concat(data, Le((uint)nextKey.Algorithm), nextKey.Bytes.ToArray()),
        1 => Concat(BlockTag, Le(version), PayloadTag, data, AlgorithmTag, Le((uint)nextKey.Algorithm), NextKeyTag, nextKey.Bytes.ToArray()),
        _ => throw UnsupportedVersion(version),
    };

    internal static byte[] BlockPayload(byte[] data, PublicKey nextKey, ExternalSignatureData? external, byte[] previousSignature, uint version) => version switch
    {
        0 => Concat(data, external?.Signature ?? [], Le((uint)nextKey.Algorithm), nextKey.Bytes.ToArray()),
        1 => Concat(BlockTag, Le(version), PayloadTag, data, AlgorithmTag, Le((uint)nextKey.Algorithm), NextKeyTag, nextKey.Bytes.ToArray(),
            PrevSigTag, previousSignature, external is null ? [] : ExternalSigTag, external?.Signature ?? []),
        _ => throw UnsupportedVersion(version),
    };

    internal static byte[] ExternalPayload(byte[] data, byte[] previousSignature, uint version) =>
        Concat(ExternalTag, Le(version), PayloadTag, data, PrevSigTag, previousSignature);

    private static byte[] SealPayload(SignedBlockData block) =>
        Concat(block.Data, Le((uint)block.NextKey.Algorithm), block.NextKey.Bytes.ToArray(), block.Signature);

    private static BiscuitFormatException UnsupportedVersion(uint version) =>
        new(FormatErrorKind.DeserializationError, $"unsupported block version: {version}");

    private static byte[] Le(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    private static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, offset);
            offset += p.Length;
        }
        return result;
    }
}
