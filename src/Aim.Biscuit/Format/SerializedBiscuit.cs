using System.Buffers;
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

    /// <summary>
    /// Verifies every signature of the chain and the proof, then runs <paramref name="afterwards"/> (block
    /// decoding). Every check depends only on bytes of the token, so with <paramref name="concurrent"/> the
    /// calling thread and a thread-pool worker share them, <paramref name="afterwards"/> included; the error
    /// reported is the one the sequential order (signatures block by block, the proof, then
    /// <paramref name="afterwards"/>) meets first, and nothing is accepted unless every check passed.
    /// </summary>
    /// <exception cref="BiscuitFormatException">A signature or the proof is invalid.</exception>
    internal void Verify(PublicKey root, bool concurrent = false, Action? afterwards = null)
    {
        var checks = ChainCheck.List(this);
        if (!concurrent)
        {
            foreach (var check in checks) check.Run(this, root);
            afterwards?.Invoke();
            return;
        }
        ConcurrentChecks.Run(this, root, checks, afterwards);
    }

    /// <summary>One independent verification: a block signature, a third-party signature, or the proof.</summary>
    /// <param name="Block">Index in the chain (0: authority).</param>
    /// <param name="Kind">What to check.</param>
    internal readonly record struct ChainCheck(int Block, ChainCheckKind Kind)
    {
        /// <summary>The checks of a token in the order a sequential verification runs them.</summary>
        internal static ChainCheck[] List(SerializedBiscuit token)
        {
            var count = 2 + token.Blocks.Count;
            foreach (var b in token.Blocks) if (b.External is not null) count++;
            var checks = new ChainCheck[count];
            var n = 0;
            checks[n++] = new(0, ChainCheckKind.Signature);
            for (var i = 0; i < token.Blocks.Count; i++)
            {
                checks[n++] = new(i + 1, ChainCheckKind.Signature);
                if (token.Blocks[i].External is not null) checks[n++] = new(i + 1, ChainCheckKind.External);
            }
            checks[n] = new(token.Blocks.Count, ChainCheckKind.Proof);
            return checks;
        }

        /// <exception cref="BiscuitFormatException">The check fails.</exception>
        internal void Run(SerializedBiscuit token, PublicKey root)
        {
            var block = Block == 0 ? token.Authority : token.Blocks[Block - 1];
            switch (Kind)
            {
                case ChainCheckKind.Signature:
                    var signer = Block == 0 ? root : token.BlockAt(Block - 1).NextKey;
                    var previous = Block == 0 ? null : token.BlockAt(Block - 1).Signature;
                    new SignedPayload(SignedPayloadKind.Block, block, previous).Verify(signer, block.Signature);
                    break;
                case ChainCheckKind.External:
                    new SignedPayload(SignedPayloadKind.External, block, token.BlockAt(Block - 1).Signature)
                        .Verify(block.External!.Key, block.External.Signature);
                    break;
                default:
                    token.VerifyProof();
                    break;
            }
        }
    }

    /// <summary>Kinds of <see cref="ChainCheck"/>.</summary>
    internal enum ChainCheckKind
    {
        /// <summary>The block's signature by the previous block's next key (the root key for the authority block).</summary>
        Signature,
        /// <summary>The third-party signature of the block.</summary>
        External,
        /// <summary>The proof: next secret matching the last next key, or the sealing signature.</summary>
        Proof,
    }

    private SignedBlockData BlockAt(int index) => index == 0 ? Authority : Blocks[index - 1];

    private void VerifyProof()
    {
        var last = LastBlock;
        if (NextSecret is null)
        {
            new SignedPayload(SignedPayloadKind.Seal, last, null).Verify(last.NextKey, FinalSignature);
            return;
        }
        // Deriving the public key of the next secret detects removal of trailing blocks (as the reference does).
        if (last.NextKey.Algorithm == Algorithm.Ed25519 && NextSecret.Length == Aim.Crypto.Ed25519.SeedSize)
        {
            Span<byte> publicKey = stackalloc byte[Aim.Crypto.Ed25519.PublicKeySize];
            Span<byte> secretKey = stackalloc byte[Aim.Crypto.Ed25519.SecretKeySize];
            try
            {
                Aim.Crypto.Ed25519.KeyPairFromSeed(NextSecret, publicKey, secretKey);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(secretKey);
            }
            if (!publicKey.SequenceEqual(last.NextKey.Bytes)) throw ProofMismatch();
            return;
        }
        using var next = PrivateKeyOf(last.NextKey.Algorithm);
        if (!next.PublicKey.Equals(last.NextKey)) throw ProofMismatch();
    }

    private static BiscuitFormatException ProofMismatch() =>
        new(FormatErrorKind.InvalidSignature, "the last public key does not match the private key");

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

    internal static byte[] AuthorityPayload(byte[] data, PublicKey nextKey, uint version) =>
        new SignedPayload(SignedPayloadKind.Block, data, nextKey, null, null, version, null).ToArray();

    internal static byte[] BlockPayload(byte[] data, PublicKey nextKey, ExternalSignatureData? external, byte[] previousSignature, uint version) =>
        new SignedPayload(SignedPayloadKind.Block, data, nextKey, external, previousSignature, version, null).ToArray();

    internal static byte[] ExternalPayload(byte[] data, byte[] previousSignature, uint version) =>
        new SignedPayload(SignedPayloadKind.External, data, null, null, previousSignature, version, null).ToArray();

    private static byte[] SealPayload(SignedBlockData block) => new SignedPayload(SignedPayloadKind.Seal, block, null).ToArray();

    /// <summary>Kinds of signed messages.</summary>
    internal enum SignedPayloadKind
    {
        /// <summary>A block signature (the authority block when there is no previous signature).</summary>
        Block,
        /// <summary>A third-party signature over a block.</summary>
        External,
        /// <summary>The sealing signature over the last block.</summary>
        Seal,
    }

    /// <summary>
    /// The bytes a signature covers (payload v0 or the tagged v1), written into a caller's buffer so
    /// verification needs no allocation: stack memory for small blocks, a pooled array otherwise.
    /// </summary>
    internal readonly ref struct SignedPayload
    {
        private const int StackLimit = 2048;
        private readonly SignedPayloadKind _kind;
        private readonly ReadOnlySpan<byte> _data;
        private readonly PublicKey? _nextKey;
        private readonly ExternalSignatureData? _external;
        private readonly ReadOnlySpan<byte> _previousSignature;
        private readonly bool _hasPrevious;
        private readonly uint _version;
        private readonly ReadOnlySpan<byte> _blockSignature;

        internal SignedPayload(SignedPayloadKind kind, ReadOnlySpan<byte> data, PublicKey? nextKey, ExternalSignatureData? external,
            byte[]? previousSignature, uint version, byte[]? blockSignature)
        {
            _kind = kind;
            _data = data;
            _nextKey = nextKey;
            _external = external;
            _previousSignature = previousSignature;
            _hasPrevious = previousSignature is not null;
            _version = version;
            _blockSignature = blockSignature;
        }

        /// <summary>The payload of <paramref name="block"/>'s signature (block or seal) or third-party signature.</summary>
        internal SignedPayload(SignedPayloadKind kind, SignedBlockData block, byte[]? previousSignature)
            : this(kind, block.Data, block.NextKey, block.External, previousSignature, block.SignatureVersion, block.Signature)
        {
        }

        /// <summary>Verifies <paramref name="signature"/> over the payload.</summary>
        /// <exception cref="BiscuitFormatException">Unsupported signature version, malformed or invalid signature.</exception>
        internal void Verify(PublicKey key, ReadOnlySpan<byte> signature)
        {
            var length = Write([]);
            byte[]? rented = null;
            var buffer = length <= StackLimit ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
            try
            {
                Write(buffer);
                key.Verify(buffer, signature);
            }
            finally
            {
                if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
            }
        }

        internal byte[] ToArray()
        {
            var result = new byte[Write([])];
            Write(result);
            return result;
        }

        /// <summary>Writes the payload into <paramref name="destination"/>, or only measures it when that is empty.</summary>
        /// <returns>The payload length.</returns>
        private int Write(Span<byte> destination)
        {
            var w = new Writer(destination);
            switch (_kind)
            {
                case SignedPayloadKind.Seal:
                    w.Append(_data);
                    w.AppendLe((uint)_nextKey!.Algorithm);
                    w.Append(_nextKey.Bytes);
                    w.Append(_blockSignature);
                    break;
                case SignedPayloadKind.External:
                    w.Append(ExternalTag);
                    w.AppendLe(_version);
                    w.Append(PayloadTag);
                    w.Append(_data);
                    w.Append(PrevSigTag);
                    w.Append(_previousSignature);
                    break;
                case SignedPayloadKind.Block when _version == 0:
                    w.Append(_data);
                    if (_external is not null) w.Append(_external.Signature);
                    w.AppendLe((uint)_nextKey!.Algorithm);
                    w.Append(_nextKey.Bytes);
                    break;
                case SignedPayloadKind.Block when _version == 1:
                    w.Append(BlockTag);
                    w.AppendLe(_version);
                    w.Append(PayloadTag);
                    w.Append(_data);
                    w.Append(AlgorithmTag);
                    w.AppendLe((uint)_nextKey!.Algorithm);
                    w.Append(NextKeyTag);
                    w.Append(_nextKey.Bytes);
                    if (_hasPrevious)
                    {
                        w.Append(PrevSigTag);
                        w.Append(_previousSignature);
                        if (_external is not null)
                        {
                            w.Append(ExternalSigTag);
                            w.Append(_external.Signature);
                        }
                    }
                    break;
                default:
                    throw UnsupportedVersion(_version);
            }
            return w.Length;
        }

        private ref struct Writer(Span<byte> destination)
        {
            private readonly Span<byte> _destination = destination;
            private readonly bool _measureOnly = destination.IsEmpty;

            internal int Length { get; private set; }

            internal void Append(ReadOnlySpan<byte> bytes)
            {
                if (!_measureOnly) bytes.CopyTo(_destination[Length..]);
                Length += bytes.Length;
            }

            internal void AppendLe(uint value)
            {
                if (!_measureOnly) BinaryPrimitives.WriteUInt32LittleEndian(_destination[Length..], value);
                Length += sizeof(uint);
            }
        }
    }

    private static BiscuitFormatException UnsupportedVersion(uint version) =>
        new(FormatErrorKind.DeserializationError, $"unsupported block version: {version}");
}
