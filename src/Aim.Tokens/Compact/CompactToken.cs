using System.Buffers;
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
    public static AipTokenClaims Decode(string token) => Parse(token, stackalloc byte[Ed25519.SignatureSize], out _);

    /// <summary>True when the text looks like a compact token (two dots) rather than a chained (Biscuit) token.</summary>
    public static bool LooksCompact(string token) => token.AsSpan().Count('.') == 2;

    // Payloads up to this size are decoded on the stack; longer ones (up to MaxLength) into a pooled buffer.
    private const int StackPayloadBytes = 1024;

    /// <summary>
    /// Checks the form of a compact token and reads its claims without allocating anything but the claims themselves:
    /// base64url decoded into stack or pooled buffers, the header compared as text with the one allowed encoding (any
    /// other spelling goes through the strict JSON check), claims read with <see cref="Utf8JsonReader"/> from the decoded
    /// bytes. The signature is decoded into <paramref name="signature"/> (64 bytes); it is not verified here.
    /// </summary>
    internal static AipTokenClaims Parse(string? token, Span<byte> signature, out int signingInputLength)
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

        // The header we write is the only one nearly every token carries: equal text means equal (canonical) bytes.
        // Any other spelling (member order, whitespace) is decoded and held to the exact two members.
        if (!headerPart.SequenceEqual(EncodedHeader))
        {
            CheckHeaderPart(headerPart);
        }

        byte[]? rented = null;
        var payloadCapacity = payloadPart.Length / 4 * 3 + 3;
        var payloadBuffer = payloadCapacity <= StackPayloadBytes
            ? stackalloc byte[StackPayloadBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(payloadCapacity));
        try
        {
            var payload = payloadBuffer[..DecodeCanonical(payloadPart, payloadBuffer, "payload")];
            DecodeSignature(signaturePart, signature);
            signingInputLength = second;
            return ReadClaims(payload);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
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
    // let one signature be written several ways). Decodes into the caller's buffer; returns the byte count.
    //
    // Scalar on purpose, one pass that checks and decodes. The BCL's vectorized base64 decoder (AVX2 on x64) made the
    // libsodium verification that follows it ~10% slower, several microseconds, far more than the decoding itself
    // (TokenControlBenchmarks; the effect is gone with DOTNET_EnableAVX=0); allocation was not the cause.
    private static int DecodeCanonical(ReadOnlySpan<char> part, Span<byte> destination, string what)
    {
        if (part.IsEmpty || part.Length % 4 == 1)
        {
            throw AipException.Malformed($"The {what} is not base64url.");
        }

        // The unused low bits of the last character must be zero (what re-encoding would produce).
        var unusedBits = (part.Length % 4) switch { 2 => 0x0F, 3 => 0x03, _ => 0 };
        if ((Base64UrlValue(part[^1]) & unusedBits) != 0)
        {
            throw AipException.Malformed($"The {what} is not canonical base64url.");
        }

        // A character outside the alphabet maps to 0xFF: its high bits survive the OR and refuse the part at the end.
        var seen = 0;
        var written = 0;
        var i = 0;
        for (; i + 4 <= part.Length; i += 4)
        {
            int a = Base64UrlValue(part[i]), b = Base64UrlValue(part[i + 1]), c = Base64UrlValue(part[i + 2]), d = Base64UrlValue(part[i + 3]);
            seen |= a | b | c | d;
            var bits = a << 18 | b << 12 | c << 6 | d;
            destination[written] = (byte)(bits >> 16);
            destination[written + 1] = (byte)(bits >> 8);
            destination[written + 2] = (byte)bits;
            written += 3;
        }

        switch (part.Length - i)
        {
            case 2:
            {
                int a = Base64UrlValue(part[i]), b = Base64UrlValue(part[i + 1]);
                seen |= a | b;
                destination[written++] = (byte)((a << 2) | (b >> 4));
                break;
            }

            case 3:
            {
                int a = Base64UrlValue(part[i]), b = Base64UrlValue(part[i + 1]), c = Base64UrlValue(part[i + 2]);
                seen |= a | b | c;
                var tail = a << 12 | b << 6 | c;
                destination[written++] = (byte)(tail >> 10);
                destination[written++] = (byte)(tail >> 2);
                break;
            }
        }

        if ((seen & ~0x3F) != 0)
        {
            throw AipException.Malformed($"The {what} is not base64url.");
        }

        return written;
    }

    // The 6-bit value of each base64url character, 0xFF for anything else.
    private static int Base64UrlValue(char c) => c < 128 ? Base64UrlValues[c] : 0xFF;

    private static ReadOnlySpan<byte> Base64UrlValues =>
    [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3E, 0xFF, 0xFF,
        0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
        0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F,
        0xFF, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
        0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];

    private static void DecodeSignature(ReadOnlySpan<char> part, Span<byte> signature)
    {
        // Exactly 86 canonical characters encode 64 bytes; any other length is another size.
        if (part.Length != 86)
        {
            throw AipException.Malformed("An EdDSA signature is 64 bytes.");
        }

        if (DecodeCanonical(part, signature, "signature") != Ed25519.SignatureSize)
        {
            throw AipException.Malformed("An EdDSA signature is 64 bytes.");
        }
    }

    // A header spelled otherwise than ours (rare): decoded and held to exactly alg=EdDSA and typ=aip+jwt.
    private static void CheckHeaderPart(ReadOnlySpan<char> part)
    {
        var capacity = part.Length / 4 * 3 + 3;
        byte[]? rented = null;
        var buffer = capacity <= StackPayloadBytes ? stackalloc byte[StackPayloadBytes] : (rented = ArrayPool<byte>.Shared.Rent(capacity));
        try
        {
            CheckHeader(buffer[..DecodeCanonical(part, buffer, "header")]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void CheckHeader(ReadOnlySpan<byte> header)
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

    private static AipTokenClaims ReadClaims(ReadOnlySpan<byte> payload)
    {
        // JSON text is UTF-8 (RFC 8259): checked once for the whole payload, ignored claims included (the reader would
        // only notice in the strings it reads as text).
        if (!System.Text.Unicode.Utf8.IsValid(payload))
        {
            throw AipException.Malformed("The claims are not valid UTF-8.");
        }

        string? iss = null, sub = null;
        string[]? scopes = null;
        decimal? budget = null;
        long? maxDepth = null, iat = null, exp = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw AipException.Malformed("The claims are not a JSON object.");
            }

            // Names compared as UTF-8 (escapes resolved by the reader, no string per member); the known claims tracked in
            // a bit set and any other names in a set created only when a token carries them.
            var seenKnown = 0;
            HashSet<string>? seenOther = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var known = KnownClaim(ref reader);
                if (known < 0)
                {
                    var name = reader.GetString()!;
                    if (!(seenOther ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
                    {
                        throw AipException.Malformed($"The claim '{name}' appears twice.");
                    }

                    reader.Read();
                    reader.Skip(); // other registered or private claims are ignored, as JWT requires (still valid JSON)
                    continue;
                }

                if ((seenKnown & (1 << known)) != 0)
                {
                    throw AipException.Malformed($"The claim '{reader.GetString()}' appears twice.");
                }

                seenKnown |= 1 << known;
                reader.Read();
                switch (known)
                {
                    case 0: iss = ReadIdentifierString(ref reader, "iss"); break;
                    case 1: sub = ReadIdentifierString(ref reader, "sub"); break;
                    case 2: scopes = ReadScopes(ref reader); break;
                    case 3: budget = reader.TokenType == JsonTokenType.Null ? null : RequireBudget(ref reader); break; // null: absent, as AIP reads it
                    case 4: maxDepth = RequireInteger(ref reader, "max_depth"); break;
                    case 5: iat = RequireInteger(ref reader, "iat"); break;
                    default: exp = RequireInteger(ref reader, "exp"); break;
                }
            }

            // One object and nothing after it (the reader refuses trailing values; whitespace ends the input).
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw AipException.Malformed("The claims are not one JSON object.");
            }
        }
        catch (JsonException ex)
        {
            throw AipException.Malformed("The claims are not valid JSON.", ex);
        }
        catch (InvalidOperationException ex)
        {
            // A string that is not valid UTF-8 (found when it is read as text).
            throw AipException.Malformed("The claims hold a string that is not valid UTF-8.", ex);
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

    private static int KnownClaim(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("iss"u8) ? 0
        : reader.ValueTextEquals("sub"u8) ? 1
        : reader.ValueTextEquals("scope"u8) ? 2
        : reader.ValueTextEquals("budget_usd"u8) ? 3
        : reader.ValueTextEquals("max_depth"u8) ? 4
        : reader.ValueTextEquals("iat"u8) ? 5
        : reader.ValueTextEquals("exp"u8) ? 6
        : -1;

    // Identifiers seen before come back as the cached instance's string: no string allocated per verification.
    private static string ReadIdentifierString(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw AipException.Malformed($"{name} must be a string.");
        }

        // UTF-8 never takes fewer bytes than UTF-16 code units, escaped or not: the value fits in as many chars.
        var length = reader.ValueSpan.Length;
        if (length > AipIdentifier.MaxLength)
        {
            return reader.GetString()!; // too long to be an identifier; refused where it is parsed
        }

        Span<char> chars = stackalloc char[length];
        var text = chars[..reader.CopyString(chars)];
        return AipIdentifier.TryGetParsed(text, out var identifier) ? identifier.Value : new string(text);
    }

    private static long RequireInteger(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) ? n : throw AipException.Malformed($"{name} must be an integer.");

    private static decimal RequireBudget(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDecimal(out var budget) || budget < 0 || budget > 1_000_000_000m)
        {
            throw AipException.Malformed("budget_usd must be a non-negative number.");
        }

        return budget;
    }

    private static string[] ReadScopes(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw AipException.Malformed("scope must be an array of strings.");
        }

        // Count on a copy of the reader first so the array is allocated once at its exact size.
        var probe = reader;
        var count = 0;
        while (probe.Read() && probe.TokenType == JsonTokenType.String)
        {
            if (++count > MaxScopes)
            {
                break;
            }
        }

        if (count is 0 or > MaxScopes)
        {
            throw AipException.Malformed($"scope must hold 1 to {MaxScopes} scopes.");
        }

        if (probe.TokenType != JsonTokenType.EndArray)
        {
            throw AipException.Malformed("scope holds an invalid scope.");
        }

        var scopes = new string[count];
        for (var i = 0; i < count; i++)
        {
            reader.Read();
            scopes[i] = ReadScope(ref reader);
        }

        reader.Read(); // the end of the array
        return scopes;
    }

    // Valid scopes seen before come back as the same string (bounded, emptied when full, like the identifier cache).
    private static readonly RecentByText<string> KnownScopes = new(capacity: 4096);

    private static string ReadScope(ref Utf8JsonReader reader)
    {
        var length = reader.ValueSpan.Length;
        if (length <= 256)
        {
            Span<char> chars = stackalloc char[length];
            var text = chars[..reader.CopyString(chars)];
            if (KnownScopes.TryGet(text, out var known))
            {
                return known;
            }
        }

        var scope = reader.GetString();
        if (!AipScope.IsValid(scope))
        {
            throw AipException.Malformed("scope holds an invalid scope.");
        }

        KnownScopes.Add(scope!, scope!);
        return scope!;
    }
}
