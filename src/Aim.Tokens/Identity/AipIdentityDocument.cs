using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Identity;
using Aim.Json;

namespace Aim.Tokens.Identity;

/// <summary>
/// The identity document of an <c>aip:web</c> identifier, served at <c>https://&lt;domain&gt;/.well-known/aip/&lt;path&gt;.json</c>:
/// <code>
/// {"id":"aip:web:example.com/agents/alpha",
///  "keys":[{"id":"k1","public_key":"aip:key:ed25519:z…","not_before":1767225600,"not_after":1798761600}],
///  "signature":{"key_id":"k1","value":"&lt;base64url Ed25519 signature&gt;"}}
/// </code>
/// The signature covers the RFC 8785 canonical form of the document without its <c>signature</c> member and is made by
/// one of the listed keys that is valid at the time of verification. Times are Unix seconds.
/// </summary>
public sealed class AipIdentityDocument
{
    /// <summary>Largest document accepted (bytes).</summary>
    public const int MaxDocumentBytes = 64 * 1024;

    /// <summary>Most keys a document may list.</summary>
    public const int MaxKeys = 16;

    private AipIdentityDocument(string id, IReadOnlyList<AipPublicKey> keys, string signingKeyId)
    {
        Id = id;
        Keys = keys;
        SigningKeyId = signingKeyId;
    }

    /// <summary>The <c>aip:web</c> identifier the document describes.</summary>
    public string Id { get; }

    /// <summary>The identity's keys with their validity windows.</summary>
    public IReadOnlyList<AipPublicKey> Keys { get; }

    /// <summary>Which key signed the document.</summary>
    public string SigningKeyId { get; }

    /// <summary>The keys valid at <paramref name="instant"/>.</summary>
    public IReadOnlyList<AipPublicKey> KeysValidAt(DateTimeOffset instant) => Keys.Where(k => k.IsValidAt(instant)).ToArray();

    /// <summary>Builds and signs a document (for publishing one, and for tests).</summary>
    /// <param name="id">The <c>aip:web</c> identifier.</param>
    /// <param name="keys">The keys to list (1 to 16).</param>
    /// <param name="signingKeyId">Which listed key signs.</param>
    /// <param name="signer">The key pair of that key.</param>
    /// <returns>The document as JSON text.</returns>
    /// <exception cref="ArgumentException">The identifier is not <c>aip:web</c>, the key list is empty or too long, or the
    /// signer does not match the named key.</exception>
    public static string Create(string id, IReadOnlyList<AipPublicKey> keys, string signingKeyId, Ed25519KeyPair signer)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(signer);
        if (!AipIdentifier.TryParse(id, out var parsed) || parsed.Kind != AipIdentifierKind.Web)
        {
            throw new ArgumentException("An identity document describes an aip:web identifier.", nameof(id));
        }

        if (keys.Count is 0 or > MaxKeys)
        {
            throw new ArgumentException($"A document lists 1 to {MaxKeys} keys.", nameof(keys));
        }

        var signingKey = keys.FirstOrDefault(k => k.Id == signingKeyId)
            ?? throw new ArgumentException("The signing key is not listed.", nameof(signingKeyId));
        if (!signingKey.Key.SequenceEqual(signer.PublicKey))
        {
            throw new ArgumentException("The signer is not the named key.", nameof(signer));
        }

        var body = new JsonObject
        {
            ["id"] = id,
            ["keys"] = new JsonArray(keys.Select(KeyNode).ToArray()),
        };
        var signature = signer.Sign(CanonicalJson.Serialize(body));
        body["signature"] = new JsonObject { ["key_id"] = signingKeyId, ["value"] = Base64Url.EncodeToString(signature) };
        return body.ToJsonString();
    }

    /// <summary>
    /// Parses a document and verifies its signature with a key valid at <paramref name="now"/>.
    /// </summary>
    /// <param name="utf8Json">The document bytes.</param>
    /// <param name="expectedId">The identifier being resolved; the document must describe exactly it.</param>
    /// <param name="now">The verification time (key windows).</param>
    /// <exception cref="AipException"><see cref="AipErrorCodes.IdentityUnresolvable"/> for anything wrong: size, JSON, a
    /// wrong id, bad keys, a missing or invalid signature.</exception>
    public static AipIdentityDocument ParseAndVerify(ReadOnlySpan<byte> utf8Json, string expectedId, DateTimeOffset now)
    {
        if (utf8Json.Length > MaxDocumentBytes)
        {
            throw Unresolvable("The identity document is larger than 64 KiB.");
        }

        JsonObject root;
        try
        {
            root = JsonNode.Parse(utf8Json, documentOptions: new JsonDocumentOptions { MaxDepth = 8 }) as JsonObject
                ?? throw Unresolvable("The identity document is not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw Unresolvable("The identity document is not valid JSON.", ex);
        }

        try
        {
            return Verify(root, expectedId, now);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or CanonicalJsonException or IdentityFormatException)
        {
            throw Unresolvable("The identity document is malformed.", ex);
        }
    }

    private static AipIdentityDocument Verify(JsonObject root, string expectedId, DateTimeOffset now)
    {
        var id = root["id"]?.GetValue<string>();
        if (!string.Equals(id, expectedId, StringComparison.Ordinal))
        {
            throw Unresolvable("The identity document describes another identifier.");
        }

        if (root["keys"] is not JsonArray keyArray || keyArray.Count is 0 or > MaxKeys)
        {
            throw Unresolvable($"The identity document must list 1 to {MaxKeys} keys.");
        }

        var keys = new List<AipPublicKey>(keyArray.Count);
        foreach (var node in keyArray)
        {
            if (node is not JsonObject k)
            {
                throw Unresolvable("A key entry is not an object.");
            }

            var keyId = k["id"]?.GetValue<string>() ?? throw Unresolvable("A key entry has no id.");
            if (keys.Any(existing => existing.Id == keyId))
            {
                throw Unresolvable("Two key entries share an id.");
            }

            var publicKey = AgentIdentity.PublicKeyFromAipId(k["public_key"]?.GetValue<string>()!);
            keys.Add(new AipPublicKey(keyId, publicKey, ReadTime(k["not_before"]), ReadTime(k["not_after"])));
        }

        if (root["signature"] is not JsonObject signatureNode)
        {
            throw Unresolvable("The identity document is not signed.");
        }

        var signingKeyId = signatureNode["key_id"]?.GetValue<string>() ?? throw Unresolvable("The signature names no key.");
        var signature = Base64Url.DecodeFromChars(signatureNode["value"]?.GetValue<string>() ?? string.Empty);
        var signingKey = keys.FirstOrDefault(k => k.Id == signingKeyId) ?? throw Unresolvable("The signing key is not listed.");
        if (!signingKey.IsValidAt(now))
        {
            throw Unresolvable("The document's signing key is outside its validity window.");
        }

        root.Remove("signature");
        var signed = CanonicalJson.Serialize(root);
        if (signature.Length != Ed25519.SignatureSize || !signingKey.Verify(signed, signature))
        {
            throw Unresolvable("The identity document's signature does not verify.");
        }

        return new AipIdentityDocument(id!, keys, signingKeyId);
    }

    private static DateTimeOffset? ReadTime(JsonNode? node) =>
        node is null ? null : DateTimeOffset.FromUnixTimeSeconds(node.GetValue<long>());

    private static JsonObject KeyNode(AipPublicKey key)
    {
        var node = new JsonObject { ["id"] = key.Id, ["public_key"] = key.AipId };
        if (key.NotBefore is { } nb)
        {
            node["not_before"] = nb.ToUnixTimeSeconds();
        }

        if (key.NotAfter is { } na)
        {
            node["not_after"] = na.ToUnixTimeSeconds();
        }

        return node;
    }

    private static AipException Unresolvable(string message, Exception? inner = null) =>
        new(AipErrorCodes.IdentityUnresolvable, message, inner);
}
