using Aim.Biscuit.Format;
using Google.Protobuf;
using Proto = global::Biscuit.Format.Schema;

namespace Aim.Biscuit;

/// <summary>
/// What a token holder sends to a third party so it can sign a block for that token: the previous
/// block's signature, which binds the third-party block to this token only.
/// </summary>
public sealed class ThirdPartyBlockRequest
{
    private readonly byte[] _previousSignature;

    internal ThirdPartyBlockRequest(byte[] previousSignature) => _previousSignature = previousSignature;

    /// <summary>The signature of the token's last block.</summary>
    public ReadOnlySpan<byte> PreviousSignature => _previousSignature;

    /// <summary>Serializes the request (protobuf <c>ThirdPartyBlockRequest</c>).</summary>
    public byte[] ToBytes() => new Proto.ThirdPartyBlockRequest { PreviousSignature = ByteString.CopyFrom(_previousSignature) }.ToByteArray();

    /// <summary>The request as base64url text.</summary>
    public string ToBase64() => Base64Url.Encode(ToBytes());

    /// <summary>Decodes a request.</summary>
    /// <exception cref="BiscuitFormatException">Invalid encoding.</exception>
    public static ThirdPartyBlockRequest FromBytes(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var proto = Proto.ThirdPartyBlockRequest.Parser.ParseFrom(bytes);
            if (!proto.HasPreviousSignature) throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: missing previous signature");
            return new ThirdPartyBlockRequest(proto.PreviousSignature.ToByteArray());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: " + e.Message, e);
        }
    }

    /// <summary>Decodes a base64url request.</summary>
    public static ThirdPartyBlockRequest FromBase64(string text) => FromBytes(Base64Url.Decode(text));

    /// <summary>
    /// Third-party side: serializes <paramref name="block"/> with its own symbol table and signs it with
    /// <paramref name="externalKey"/>. The result goes back to the token holder.
    /// </summary>
    public ThirdPartyBlockContents CreateBlock(KeyPair externalKey, BlockBuilder block)
    {
        ArgumentNullException.ThrowIfNull(externalKey);
        ArgumentNullException.ThrowIfNull(block);
        var proto = ProtoConverter.EncodeBlock(block.Facts, block.Rules, block.Checks, block.Scopes, block.Context, new SymbolTable(), new PublicKeyTable(), thirdParty: true);
        var payload = proto.ToByteArray();
        var signature = externalKey.Sign(SerializedBiscuit.ExternalPayload(payload, _previousSignature, 1));
        return new ThirdPartyBlockContents(payload, externalKey.PublicKey, signature);
    }
}

/// <summary>A third-party block: the serialized block and its external signature.</summary>
public sealed class ThirdPartyBlockContents
{
    private readonly byte[] _payload;
    private readonly byte[] _signature;

    internal ThirdPartyBlockContents(byte[] payload, PublicKey externalKey, byte[] signature)
    {
        _payload = payload;
        ExternalKey = externalKey;
        _signature = signature;
    }

    /// <summary>The serialized <c>Block</c>.</summary>
    public ReadOnlySpan<byte> Payload => _payload;

    /// <summary>The third party's public key.</summary>
    public PublicKey ExternalKey { get; }

    internal byte[] PayloadBytes => _payload;
    internal byte[] SignatureBytes => _signature;

    /// <summary>Serializes (protobuf <c>ThirdPartyBlockContents</c>).</summary>
    public byte[] ToBytes() => new Proto.ThirdPartyBlockContents
    {
        Payload = ByteString.CopyFrom(_payload),
        ExternalSignature = new Proto.ExternalSignature { Signature = ByteString.CopyFrom(_signature), PublicKey = ProtoConverter.EncodeKey(ExternalKey) },
    }.ToByteArray();

    /// <summary>As base64url text.</summary>
    public string ToBase64() => Base64Url.Encode(ToBytes());

    /// <summary>Decodes block contents.</summary>
    /// <exception cref="BiscuitFormatException">Invalid encoding or key.</exception>
    public static ThirdPartyBlockContents FromBytes(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var proto = Proto.ThirdPartyBlockContents.Parser.ParseFrom(bytes);
            if (!proto.HasPayload || proto.ExternalSignature is null || !proto.ExternalSignature.HasSignature)
                throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: incomplete third-party block");
            return new ThirdPartyBlockContents(proto.Payload.ToByteArray(), ProtoConverter.DecodeKey(proto.ExternalSignature.PublicKey),
                proto.ExternalSignature.Signature.ToByteArray());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: " + e.Message, e);
        }
    }

    /// <summary>Decodes base64url block contents.</summary>
    public static ThirdPartyBlockContents FromBase64(string text) => FromBytes(Base64Url.Decode(text));
}

internal static class Base64Url
{
    /// <summary>URL-safe alphabet with '=' padding, the reference implementation's text form.</summary>
    internal static string Encode(ReadOnlySpan<byte> bytes)
    {
        var text = System.Buffers.Text.Base64Url.EncodeToString(bytes);
        return (text.Length % 4) switch { 2 => text + "==", 3 => text + "=", _ => text };
    }

    internal static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.StartsWith("biscuit:", StringComparison.Ordinal)) t = t["biscuit:".Length..];
        try
        {
            // Accept padded and unpadded forms, as the reference does.
            return System.Buffers.Text.Base64Url.DecodeFromChars(t.TrimEnd('='));
        }
        catch (FormatException e)
        {
            throw new BiscuitFormatException(FormatErrorKind.Base64, "invalid base64url: " + e.Message, e);
        }
    }
}
