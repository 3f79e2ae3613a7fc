using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Aim.Crypto;
using Aim.Tokens.Identity;

namespace Aim.Tokens.Compact;

/// <summary>
/// Compact AIP tokens: JWS compact serialization (RFC 7515) signed with EdDSA/Ed25519 (RFC 8037), header exactly
/// <c>{"alg":"EdDSA","typ":"aip+jwt"}</c>. Any JOSE library with EdDSA support verifies them. Use
/// <see cref="Verification.AipVerifier"/> to verify; <see cref="Decode"/> only reads a token without trusting it.
/// </summary>
public static class CompactToken
{
    /// <summary>The only header a compact AIP token carries.</summary>
    public const string Header = """{"alg":"EdDSA","typ":"aip+jwt"}""";

    /// <summary>Longest compact token accepted (characters).</summary>
    public const int MaxLength = 8 * 1024;

    /// <summary>Most scopes one token may carry.</summary>
    public const int MaxScopes = 64;

    /// <summary>Largest <c>max_depth</c> accepted.</summary>
    public const int MaxDepthLimit = 16;

    private static readonly string EncodedHeader = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Header));

    /// <summary>Signs a compact token.</summary>
    /// <param name="signer">The issuer's key pair.</param>
    /// <param name="claims">The claims; times are truncated to whole seconds.</param>
    /// <returns>The token (<c>header.payload.signature</c>).</returns>
    /// <exception cref="ArgumentException">The claims are invalid (bad identifiers or scopes, empty scope, negative budget or
    /// depth, expiry not after issue), or the issuer is an <c>aip:key</c> of another key.</exception>
    public static string Create(Ed25519KeyPair signer, AipTokenClaims claims)
    {
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(claims);
        Validate(claims);
        var issuer = AipIdentifier.Parse(claims.Issuer);
        if (issuer.Kind == AipIdentifierKind.Key && !issuer.PublicKey.SequenceEqual(signer.PublicKey))
        {
            throw new ArgumentException("The issuer aip:key is not the signer's key.", nameof(claims));
        }

        var payload = Base64Url.EncodeToString(WriteClaims(claims));
        var signingInput = EncodedHeader + "." + payload;
        var signature = signer.Sign(Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>
    /// Decodes a token WITHOUT verifying its signature or its claims' validity (inspection, routing). Strict about form:
    /// the exact header, canonical base64url, well-typed claims.
    /// </summary>
    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMalformed"/> for anything that is not a well-formed compact AIP token.</exception>
    public static AipTokenClaims Decode(string token) => Parse(token).Claims;

    /// <summary>True when the text looks like a compact token (two dots) rather than a chained (Biscuit) token.</summary>
    public static bool LooksCompact(string token) => token.AsSpan().Count('.') == 2;

    internal static ParsedCompactToken Parse(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw new AipException(AipErrorCodes.TokenMissing, "No token.");
        }

        if (token.Length > MaxLength)
        {
            throw AipException.Malformed($"The compact token is longer than {MaxLength} characters.");
        }

        var first = token.IndexOf('.');
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second < 0 || token.IndexOf('.', second + 1) >= 0)
        {
            throw AipException.Malformed("A compact token has three base64url parts.");
        }

        var headerPart = token.AsSpan(0, first);
        var payloadPart = token.AsSpan(first + 1, second - first - 1);
        var signaturePart = token.AsSpan(second + 1);
        if (signaturePart.IsEmpty)
        {
            throw AipException.Malformed("The token is unsigned (alg none is refused).");
        }

        var header = DecodeCanonical(headerPart, "header");
        CheckHeader(header);
        var payload = DecodeCanonical(payloadPart, "payload");
        var signature = DecodeCanonical(signaturePart, "signature");
        if (signature.Length != Ed25519.SignatureSize)
        {
            throw AipException.Malformed("An EdDSA signature is 64 bytes.");
        }

        var claims = ReadClaims(payload);
        return new ParsedCompactToken(token, second, claims, signature);
    }

    internal static void Validate(AipTokenClaims claims)
    {
        if (!AipIdentifier.TryParse(claims.Issuer, out _))
        {
            throw new ArgumentException("The issuer is not an AIP identifier.", nameof(claims));
        }

        if (!AipIdentifier.TryParse(claims.Subject, out _))
        {
            throw new ArgumentException("The subject is not an AIP identifier.", nameof(claims));
        }

        if (claims.Scopes is null || claims.Scopes.Count is 0 or > MaxScopes || !claims.Scopes.All(AipScope.IsValid))
        {
            throw new ArgumentException($"The scope is 1 to {MaxScopes} valid scopes.", nameof(claims));
        }

        if (claims.BudgetUsd < 0)
        {
            throw new ArgumentException("The budget is not negative.", nameof(claims));
        }

        if (claims.MaxDepth is < 0 or > MaxDepthLimit)
        {
            throw new ArgumentException($"max_depth is 0 to {MaxDepthLimit}.", nameof(claims));
        }

        if (claims.ExpiresAt.ToUnixTimeSeconds() <= claims.IssuedAt.ToUnixTimeSeconds())
        {
            throw new ArgumentException("The token must expire after it is issued.", nameof(claims));
        }
    }

    private static byte[] WriteClaims(AipTokenClaims claims)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("iss", claims.Issuer);
            writer.WriteString("sub", claims.Subject);
            writer.WriteStartArray("scope");
            foreach (var scope in claims.Scopes)
            {
                writer.WriteStringValue(scope);
            }

            writer.WriteEndArray();
            if (claims.BudgetUsd is { } budget)
            {
                writer.WriteNumber("budget_usd", budget);
            }

            writer.WriteNumber("max_depth", claims.MaxDepth);
            writer.WriteNumber("iat", claims.IssuedAt.ToUnixTimeSeconds());
            writer.WriteNumber("exp", claims.ExpiresAt.ToUnixTimeSeconds());
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    // Canonical base64url only: no padding, no characters outside the alphabet, no non-zero trailing bits (which would
    // let one signature be written several ways).
    private static byte[] DecodeCanonical(ReadOnlySpan<char> part, string what)
    {
        if (part.IsEmpty)
        {
            throw AipException.Malformed($"The {what} is empty.");
        }

        foreach (var c in part)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw AipException.Malformed($"The {what} is not base64url.");
            }
        }

        if (part.Length % 4 == 1)
        {
            throw AipException.Malformed($"The {what} is not base64url.");
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(part);
        }
        catch (FormatException ex)
        {
            throw AipException.Malformed($"The {what} is not base64url.", ex);
        }

        // The unused low bits of the last character must be zero (what re-encoding would produce). .NET's decoder
        // refuses them too; this keeps the rule here, independent of the decoder, without re-encoding per call.
        var unusedBits = (part.Length % 4) switch { 2 => 0x0F, 3 => 0x03, _ => 0 };
        if ((Base64UrlValue(part[^1]) & unusedBits) != 0)
        {
            throw AipException.Malformed($"The {what} is not canonical base64url.");
        }

        return bytes;
    }

    private static int Base64UrlValue(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };

    private static void CheckHeader(byte[] header)
    {
        // Exactly two members, alg=EdDSA and typ=aip+jwt, in any order: no crit, no kid, no jwk, nothing else.
        var seenAlg = false;
        var seenTyp = false;
        try
        {
            var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 2 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw AipException.Malformed("The header is not a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isAlg = reader.ValueTextEquals("alg"u8);
                var isTyp = !isAlg && reader.ValueTextEquals("typ"u8);
                if ((!isAlg && !isTyp) || (isAlg && seenAlg) || (isTyp && seenTyp))
                {
                    throw AipException.Malformed("The header holds a member other than one alg and one typ.");
                }

                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw AipException.Malformed("The header's alg and typ are strings.");
                }

                if (isAlg && !reader.ValueTextEquals("EdDSA"u8))
                {
                    throw AipException.Malformed("The header's alg must be EdDSA.");
                }

                if (isTyp && !reader.ValueTextEquals("aip+jwt"u8))
                {
                    throw AipException.Malformed("The header's typ must be aip+jwt.");
                }

                seenAlg |= isAlg;
                seenTyp |= isTyp;
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || !seenAlg || !seenTyp)
            {
                throw AipException.Malformed("The header must be exactly {\"alg\":\"EdDSA\",\"typ\":\"aip+jwt\"}.");
            }
        }
        catch (JsonException ex)
        {
            throw AipException.Malformed("The header is not valid JSON.", ex);
        }
    }

    private static AipTokenClaims ReadClaims(byte[] payload)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException ex)
        {
            throw AipException.Malformed("The claims are not valid JSON.", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw AipException.Malformed("The claims are not a JSON object.");
            }

            string? iss = null, sub = null;
            List<string>? scopes = null;
            decimal? budget = null;
            long? maxDepth = null, iat = null, exp = null;
            // Names compared as UTF-8 (no string per member); the known claims tracked in a bit set and any other
            // names in a set created only when a token carries them.
            var seenKnown = 0;
            HashSet<string>? seenOther = null;
            foreach (var property in root.EnumerateObject())
            {
                var value = property.Value;
                var known = KnownClaim(property);
                if (known < 0)
                {
                    var name = property.Name;
                    if (!(seenOther ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
                    {
                        throw AipException.Malformed($"The claim '{name}' appears twice.");
                    }

                    continue; // other registered or private claims are ignored, as JWT requires
                }

                if ((seenKnown & (1 << known)) != 0)
                {
                    throw AipException.Malformed($"The claim '{property.Name}' appears twice.");
                }

                seenKnown |= 1 << known;
                switch (known)
                {
                    case 0: iss = RequireString(value, "iss"); break;
                    case 1: sub = RequireString(value, "sub"); break;
                    case 2: scopes = ReadScopes(value); break;
                    case 3: budget = RequireBudget(value); break;
                    case 4: maxDepth = RequireInteger(value, "max_depth"); break;
                    case 5: iat = RequireInteger(value, "iat"); break;
                    default: exp = RequireInteger(value, "exp"); break;
                }
            }

            if (iss is null || sub is null || scopes is null || maxDepth is null || iat is null || exp is null)
            {
                throw AipException.Malformed("The claims iss, sub, scope, max_depth, iat and exp are required.");
            }

            if (maxDepth is < 0 or > MaxDepthLimit)
            {
                throw AipException.Malformed($"max_depth must be 0 to {MaxDepthLimit}.");
            }

            if (!AipIdentifier.TryParse(sub, out _))
            {
                throw AipException.Malformed("sub is not an AIP identifier.");
            }

            const long MaxUnix = 253402300799; // 9999-12-31
            if (iat is < 0 or > MaxUnix || exp is < 0 or > MaxUnix)
            {
                throw AipException.Malformed("iat and exp are out of range.");
            }

            if (exp <= iat)
            {
                throw AipException.Malformed("exp must be after iat.");
            }

            return new AipTokenClaims(iss, sub, scopes, budget, (int)maxDepth.Value,
                DateTimeOffset.FromUnixTimeSeconds(iat.Value), DateTimeOffset.FromUnixTimeSeconds(exp.Value));
        }
    }

    private static int KnownClaim(JsonProperty property) =>
        property.NameEquals("iss"u8) ? 0
        : property.NameEquals("sub"u8) ? 1
        : property.NameEquals("scope"u8) ? 2
        : property.NameEquals("budget_usd"u8) ? 3
        : property.NameEquals("max_depth"u8) ? 4
        : property.NameEquals("iat"u8) ? 5
        : property.NameEquals("exp"u8) ? 6
        : -1;

    private static string RequireString(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw AipException.Malformed($"{name} must be a string.");

    private static long RequireInteger(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : throw AipException.Malformed($"{name} must be an integer.");

    private static decimal RequireBudget(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var budget) || budget < 0 || budget > 1_000_000_000m)
        {
            throw AipException.Malformed("budget_usd must be a non-negative number.");
        }

        return budget;
    }

    private static List<string> ReadScopes(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw AipException.Malformed("scope must be an array of strings.");
        }

        var count = value.GetArrayLength();
        if (count is 0 or > MaxScopes)
        {
            throw AipException.Malformed($"scope must hold 1 to {MaxScopes} scopes.");
        }

        var scopes = new List<string>(count);
        foreach (var item in value.EnumerateArray())
        {
            var scope = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
            if (!AipScope.IsValid(scope))
            {
                throw AipException.Malformed("scope holds an invalid scope.");
            }

            scopes.Add(scope!);
        }

        return scopes;
    }
}

/// <summary>A compact token split into its parts (form checked, signature not yet verified).</summary>
internal sealed record ParsedCompactToken(string Token, int SigningInputLength, AipTokenClaims Claims, byte[] Signature)
{
    public ReadOnlySpan<char> SigningInput => Token.AsSpan(0, SigningInputLength);
}
