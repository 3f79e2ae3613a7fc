using System.Text;
using Aim.Biscuit.Datalog;
using Aim.Biscuit.Format;
using Google.Protobuf;
using Proto = global::Biscuit.Format.Schema;

namespace Aim.Biscuit;

/// <summary>Options for parsing tokens.</summary>
public sealed record BiscuitParseOptions
{
    /// <summary>The defaults (64 KiB tokens, 64 blocks).</summary>
    public static BiscuitParseOptions Default { get; } = new();

    /// <summary>Largest serialized token accepted, in bytes.</summary>
    public int MaxTokenSize { get; init; } = 64 * 1024;

    /// <summary>Most blocks (authority included) accepted.</summary>
    public int MaxBlocks { get; init; } = 64;

    /// <summary>
    /// Whether signature verification may use a second thread (default <see cref="VerificationConcurrency.Auto"/>).
    /// Concurrency lowers the latency of one verification, not its CPU cost (it adds a thread-pool hand-off); a server saturated with
    /// requests gains nothing from it and may prefer <see cref="VerificationConcurrency.SingleThreaded"/>.
    /// </summary>
    public VerificationConcurrency Concurrency { get; init; } = VerificationConcurrency.Auto;

    internal bool VerifyConcurrently => Concurrency switch
    {
        VerificationConcurrency.Concurrent => true,
        VerificationConcurrency.SingleThreaded => false,
        // A backlog in the pool means the cores are busy: a second thread would add CPU, not lower latency.
        _ => Environment.ProcessorCount > 1 && ThreadPool.PendingWorkItemCount == 0,
    };
}

/// <summary>How a token's independent signature checks are scheduled.</summary>
public enum VerificationConcurrency
{
    /// <summary>
    /// Concurrent when the machine has more than one processor and the thread pool has no queued work
    /// (a backlog means the cores are busy), otherwise single-threaded.
    /// </summary>
    Auto = 0,

    /// <summary>Every check on the calling thread, in chain order.</summary>
    SingleThreaded = 1,

    /// <summary>
    /// The calling thread and one thread-pool worker share the checks (block signatures, third-party
    /// signatures and the proof); the result and the error reported are those of the single-threaded order.
    /// </summary>
    Concurrent = 2,
}

/// <summary>
/// A Biscuit token: a chain of signed Datalog blocks. Instances are immutable; <see cref="Attenuate"/>,
/// <see cref="Seal"/> and <see cref="AppendThirdPartyBlock"/> return new tokens.
/// </summary>
public sealed class BiscuitToken
{
    private BiscuitToken(SerializedBiscuit container, SymbolTable symbols, PublicKeyTable keys, IReadOnlyList<Block> blocks, bool verified)
    {
        Container = container;
        Symbols = symbols;
        Keys = keys;
        Blocks = blocks;
        IsVerified = verified;
        var byKey = new Dictionary<PublicKey, List<ulong>>();
        for (var i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].ExternalKey is { } key)
            {
                if (!byKey.TryGetValue(key, out var list)) byKey[key] = list = [];
                list.Add((ulong)i);
            }
        }
        BlocksByExternalKey = byKey;
    }

    internal SerializedBiscuit Container { get; }
    internal SymbolTable Symbols { get; }
    internal PublicKeyTable Keys { get; }
    internal IReadOnlyDictionary<PublicKey, List<ulong>> BlocksByExternalKey { get; }

    /// <summary>The decoded blocks; index 0 is the authority block.</summary>
    public IReadOnlyList<Block> Blocks { get; }

    /// <summary>The root key id hint, or null.</summary>
    public uint? RootKeyId => Container.RootKeyId;

    /// <summary>True when the token is sealed (cannot be attenuated).</summary>
    public bool IsSealed => Container.IsSealed;

    /// <summary>True when the signature chain was verified against a root key when this instance was made.</summary>
    public bool IsVerified { get; }

    /// <summary>The revocation ids: each block's signature, authority first.</summary>
    public IReadOnlyList<byte[]> RevocationIds => Container.AllBlocks.Select(b => (byte[])b.Signature.Clone()).ToList();

    /// <summary>Parses and verifies a token with a known root key.</summary>
    /// <exception cref="BiscuitFormatException">Malformed token, bad signature, or limits exceeded.</exception>
    public static BiscuitToken FromBytes(ReadOnlySpan<byte> bytes, PublicKey rootKey, BiscuitParseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rootKey);
        return FromBytes(bytes, _ => rootKey, options);
    }

    /// <summary>
    /// Parses and verifies a token, choosing the root key from the token's root key id
    /// (null when absent). The resolver returns null for an unknown id.
    /// </summary>
    /// <exception cref="BiscuitFormatException">Malformed token, unknown key id, bad signature, or limits exceeded.</exception>
    public static BiscuitToken FromBytes(ReadOnlySpan<byte> bytes, Func<uint?, PublicKey?> rootKeyResolver, BiscuitParseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rootKeyResolver);
        options ??= BiscuitParseOptions.Default;
        var container = Deserialize(bytes, options);
        var root = rootKeyResolver(container.RootKeyId)
            ?? throw new BiscuitFormatException(FormatErrorKind.UnknownPublicKey, $"unknown root key id {container.RootKeyId?.ToString() ?? "(none)"}");
        BiscuitToken? token = null;
        // Decoding needs no signature; it runs beside the checks but the token is returned only if all passed.
        container.Verify(root, options.VerifyConcurrently, () => token = FromContainer(container, verified: true));
        return token!;
    }

    /// <summary>Parses and verifies base64url text (an optional <c>biscuit:</c> prefix is accepted).</summary>
    public static BiscuitToken FromBase64(string text, PublicKey rootKey, BiscuitParseOptions? options = null) =>
        FromBytes(Base64Url.Decode(text), rootKey, options);

    /// <summary>Parses and verifies base64url text, choosing the root key by key id.</summary>
    public static BiscuitToken FromBase64(string text, Func<uint?, PublicKey?> rootKeyResolver, BiscuitParseOptions? options = null) =>
        FromBytes(Base64Url.Decode(text), rootKeyResolver, options);

    /// <summary>
    /// Parses a token WITHOUT verifying its signatures, for attenuation or inspection by a holder that
    /// has no root key. Such a token cannot be authorized (<see cref="IsVerified"/> is false).
    /// </summary>
    public static BiscuitToken FromBytesUnverified(ReadOnlySpan<byte> bytes, BiscuitParseOptions? options = null) =>
        FromContainer(Deserialize(bytes, options ?? BiscuitParseOptions.Default), verified: false);

    /// <summary>Base64url form of <see cref="FromBytesUnverified"/>.</summary>
    public static BiscuitToken FromBase64Unverified(string text, BiscuitParseOptions? options = null) =>
        FromBytesUnverified(Base64Url.Decode(text), options);

    /// <summary>Starts building a new token.</summary>
    public static BiscuitBuilder CreateBuilder() => new();

    private static SerializedBiscuit Deserialize(ReadOnlySpan<byte> bytes, BiscuitParseOptions options)
    {
        if (bytes.Length > options.MaxTokenSize)
            throw new BiscuitFormatException(FormatErrorKind.TooLarge, $"token is {bytes.Length} bytes, the limit is {options.MaxTokenSize}");
        var container = SerializedBiscuit.Deserialize(bytes);
        if (container.Blocks.Count + 1 > options.MaxBlocks)
            throw new BiscuitFormatException(FormatErrorKind.TooLarge, $"token has {container.Blocks.Count + 1} blocks, the limit is {options.MaxBlocks}");
        return container;
    }

    internal static BiscuitToken FromContainer(SerializedBiscuit container, bool verified)
    {
        var count = container.Blocks.Count + 1;
        var signed = new SignedBlockData[count];
        signed[0] = container.Authority;
        for (var i = 1; i < count; i++) signed[i] = container.Blocks[i - 1];
        var protos = new Proto.Block[count];
        for (var i = 0; i < count; i++) protos[i] = ParseBlock(signed[i].Data);

        var symbols = new SymbolTable();
        var keys = new PublicKeyTable();
        for (var i = 0; i < count; i++)
        {
            if (signed[i].External is not null) continue;
            symbols.Extend(protos[i].Symbols);
            ExtendKeys(keys, protos[i]);
        }

        var blocks = new Block[count];
        for (var i = 0; i < count; i++)
        {
            if (signed[i].External is { } external)
            {
                var ownSymbols = new SymbolTable();
                ownSymbols.Extend(protos[i].Symbols);
                var ownKeys = new PublicKeyTable();
                ExtendKeys(ownKeys, protos[i]);
                blocks[i] = ProtoConverter.DecodeBlock(protos[i], ownSymbols, ownKeys, external.Key);
            }
            else
            {
                blocks[i] = ProtoConverter.DecodeBlock(protos[i], symbols, keys, null);
            }
        }
        return new BiscuitToken(container, symbols, keys, blocks, verified);
    }

    private static void ExtendKeys(PublicKeyTable keys, Proto.Block block)
    {
        if (block.PublicKeys.Count > 0) keys.Extend(block.PublicKeys.Select(ProtoConverter.DecodeKey));
    }

    private static Proto.Block ParseBlock(byte[] data)
    {
        try
        {
            return Proto.Block.Parser.ParseFrom(data);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new BiscuitFormatException(FormatErrorKind.BlockDeserializationError, "error deserializing block: " + e.Message, e);
        }
    }

    /// <summary>Serializes the token.</summary>
    public byte[] ToBytes() => Container.ToBytes();

    /// <summary>Serializes the token as padded base64url text.</summary>
    public string ToBase64() => Base64Url.Encode(ToBytes());

    /// <summary>Appends a first-party block that restricts the token, signed with the token's ephemeral key.</summary>
    /// <exception cref="BiscuitFormatException"><see cref="FormatErrorKind.AlreadySealed"/> when the token is sealed.</exception>
    public BiscuitToken Attenuate(BlockBuilder block, Algorithm nextKeyAlgorithm = Algorithm.Ed25519)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (IsSealed) throw new BiscuitFormatException(FormatErrorKind.AlreadySealed, "the token is sealed");
        var symbols = Symbols.Clone();
        var keys = Keys.Clone();
        var proto = ProtoConverter.EncodeBlock(block.Facts, block.Rules, block.Checks, block.Scopes, block.Context, symbols, keys, thirdParty: false);
        using var next = KeyPair.Generate(nextKeyAlgorithm);
        var container = Container.Append(next, proto.ToByteArray(), null, proto.Version);
        return FromContainer(container, IsVerified);
    }

    /// <summary>Seals the token: no block can be added any more.</summary>
    /// <exception cref="BiscuitFormatException"><see cref="FormatErrorKind.AlreadySealed"/> when already sealed.</exception>
    public BiscuitToken Seal() => FromContainer(Container.Seal(), IsVerified);

    /// <summary>Creates the request a third party needs to sign a block for this token.</summary>
    /// <exception cref="BiscuitFormatException"><see cref="FormatErrorKind.AlreadySealed"/> when the token is sealed.</exception>
    public ThirdPartyBlockRequest CreateThirdPartyRequest()
    {
        if (IsSealed) throw new BiscuitFormatException(FormatErrorKind.AlreadySealed, "the token is sealed");
        return new ThirdPartyBlockRequest((byte[])Container.LastBlock.Signature.Clone());
    }

    /// <summary>Appends a block signed by a third party (see <see cref="ThirdPartyBlockRequest.CreateBlock"/>).</summary>
    /// <exception cref="BiscuitFormatException">The external signature does not verify, the block is malformed, or the token is sealed.</exception>
    public BiscuitToken AppendThirdPartyBlock(ThirdPartyBlockContents contents, Algorithm nextKeyAlgorithm = Algorithm.Ed25519)
    {
        ArgumentNullException.ThrowIfNull(contents);
        if (IsSealed) throw new BiscuitFormatException(FormatErrorKind.AlreadySealed, "the token is sealed");
        contents.ExternalKey.Verify(SerializedBiscuit.ExternalPayload(contents.PayloadBytes, Container.LastBlock.Signature, 1), contents.SignatureBytes);
        using var next = KeyPair.Generate(nextKeyAlgorithm);
        var external = new ExternalSignatureData(contents.ExternalKey, contents.SignatureBytes);
        var container = Container.Append(next, contents.PayloadBytes, external, null);
        return FromContainer(container, IsVerified);
    }

    /// <summary>Creates an authorizer holding this token.</summary>
    public Authorizer CreateAuthorizer() => new Authorizer().AddToken(this);

    /// <summary>Human-readable description: each block's Datalog source.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Biscuit {\n");
        if (RootKeyId is { } id) sb.Append("  root key id: ").Append(id).Append('\n');
        for (var i = 0; i < Blocks.Count; i++)
        {
            var b = Blocks[i];
            sb.Append("  block ").Append(i).Append(" (version ").Append(b.Version);
            if (b.ExternalKey is not null) sb.Append(", signed by ").Append(b.ExternalKey);
            sb.Append("):\n");
            foreach (var line in b.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)) sb.Append("    ").Append(line).Append('\n');
        }
        sb.Append(IsSealed ? "  sealed\n" : "").Append('}');
        return sb.ToString();
    }
}
