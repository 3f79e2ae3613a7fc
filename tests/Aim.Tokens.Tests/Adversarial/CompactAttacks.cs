using System.Buffers.Text;
using System.Text;
using Aim.Crypto;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>
/// Generates attacks on compact tokens with raw JWS operations (never through <see cref="Compact.CompactToken.Create"/>).
/// Seeded: the same corpus every run.
/// </summary>
internal static class CompactAttacks
{
    public static readonly Ed25519KeyPair Root = FromByte(1);
    public static readonly Ed25519KeyPair Agent = FromByte(2);
    public static readonly Ed25519KeyPair Attacker = FromByte(66);

    public static IEnumerable<Attack> All(int perCategory = 100)
    {
        var random = new Random(20261121);
        var iss = Id(Root);
        var sub = Id(Agent);
        var t0 = T0.ToUnixTimeSeconds();
        var goodPayload = RawJws.Payload(iss, sub);
        var good = RawJws.Sign(RawJws.Header, goodPayload, Root);

        // 1. alg confusion and none.
        string[] headers =
        [
            """{"alg":"none","typ":"aip+jwt"}""", """{"alg":"HS256","typ":"aip+jwt"}""", """{"alg":"RS256","typ":"aip+jwt"}""",
            """{"alg":"ES256","typ":"aip+jwt"}""", """{"alg":"eddsa","typ":"aip+jwt"}""", """{"alg":"Ed25519","typ":"aip+jwt"}""",
            """{"alg":"EdDSA","typ":"JWT"}""", """{"alg":"EdDSA"}""", """{"typ":"aip+jwt"}""", """{"alg":"EdDSA","typ":"aip+jwt","crit":["exp"]}""",
            """{"alg":"EdDSA","typ":"aip+jwt","kid":"k1"}""", """{"alg":"EdDSA","typ":"aip+jwt","jwk":{}}""", """{"alg":"EdDSA","alg":"EdDSA","typ":"aip+jwt"}""",
            """{"alg":["EdDSA"],"typ":"aip+jwt"}""", """{"alg":"EdDSA","typ":"aip+jwt","b64":false}""", """["EdDSA"]""", """{"alg":"EdDSA ","typ":"aip+jwt"}""",
            """{"alg":"EdDSA","typ":"AIP+JWT"}""", """{"alg":null,"typ":"aip+jwt"}""", """{"alg":"EdDSA","typ":"aip+jwt","x5u":"https://evil"}""",
        ];
        for (var i = 0; i < perCategory; i++)
        {
            var header = headers[i % headers.Length];
            var token = (i / headers.Length % 3) switch
            {
                0 => RawJws.Sign(header, goodPayload, Root),                                          // properly signed, wrong header
                1 => RawJws.B64(header) + "." + RawJws.B64(goodPayload) + ".",                       // unsigned (alg none style)
                _ => RawJws.B64(header) + "." + RawJws.B64(goodPayload) + "." + RawJws.B64(HmacWithPublicKey(header, goodPayload)), // HS256 keyed with the public key
            };
            yield return new Attack("alg confusion / none", header, token, AipErrorCodes.TokenMalformed);
        }

        // 2. tampered bytes: flip a bit in the signature, or edit a claim and keep the signature.
        var parts = good.Split('.');
        var signature = Base64Url.DecodeFromChars(parts[2]);
        for (var i = 0; i < perCategory; i++)
        {
            string token;
            string what;
            if (i % 2 == 0)
            {
                var flipped = (byte[])signature.Clone();
                var bit = random.Next(flipped.Length * 8);
                flipped[bit / 8] ^= (byte)(1 << (bit % 8));
                token = parts[0] + "." + parts[1] + "." + RawJws.B64(flipped);
                what = $"signature bit {bit}";
            }
            else
            {
                var edited = EditClaim(goodPayload, i, random);
                token = parts[0] + "." + RawJws.B64(edited) + "." + parts[2];
                what = "claim edited: " + edited;
            }

            yield return new Attack("tampered bytes", what, token, AipErrorCodes.SignatureInvalid);
        }

        // 3. wrong key: claims name the trusted root, another key signs.
        for (var i = 0; i < perCategory; i++)
        {
            using var key = FromByte((byte)(100 + (i % 100)));
            yield return new Attack("wrong key", $"signed by key {i % 100}", RawJws.Sign(RawJws.Header, RawJws.Payload(iss, sub, iat: t0 + i), key), AipErrorCodes.SignatureInvalid);
        }

        // 4. key substitution: the attacker names itself issuer and signs correctly; it is not a trusted root.
        for (var i = 0; i < perCategory; i++)
        {
            using var key = i % 2 == 0 ? FromByte((byte)(150 + (i % 50))) : null;
            var signer = key ?? Attacker;
            var sc = i % 3 == 0 ? """["tool:*"]""" : """["tool:search"]""";
            yield return new Attack("key substitution (issuer)", $"self-issued by {Id(signer)}", RawJws.Sign(RawJws.Header, RawJws.Payload(Id(signer), sub, sc, iat: t0 + i), signer), AipErrorCodes.IdentityUnresolvable);
        }

        // 5. expired replay: correctly signed tokens whose exp passed more than the skew ago (clock is T0 + 1 min).
        for (var i = 0; i < perCategory; i++)
        {
            var exp = t0 + 60 - 61 - random.Next(0, 100_000);
            var iat = exp - random.Next(1, 3600);
            yield return new Attack("expired replay", $"exp {exp - t0 - 60}s ago", RawJws.Sign(RawJws.Header, RawJws.Payload(iss, sub, iat: iat, exp: exp), Root), AipErrorCodes.TokenExpired);
        }

        // 6. expiry extension: lifetime stretched past the one-hour maximum.
        for (var i = 0; i < perCategory; i++)
        {
            var iat = t0 - random.Next(0, 50);
            var exp = iat + 3601 + random.Next(0, 1_000_000);
            yield return new Attack("expiry extension", $"lifetime {exp - iat}s", RawJws.Sign(RawJws.Header, RawJws.Payload(iss, sub, iat: iat, exp: exp), Root), AipErrorCodes.TokenMalformed);
        }

        // 7. scope widening: a valid token presented for a tool outside it.
        string[] outside = ["tool:delete", "tool:searchx", "tool", "tool:search:admin", "admin:*", "db:write", "tool:Search", "tool:fetch2", "Tool:search", "tool:"];
        for (var i = 0; i < perCategory; i++)
        {
            var tool = outside[i % outside.Length] + (i >= outside.Length ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty);
            yield return new Attack("scope widening", tool, good, AipErrorCodes.ScopeInsufficient, new Verification.AipAccessRequest(tool));
        }

        // 8. budget widening: a cost above budget_usd.
        for (var i = 0; i < perCategory; i++)
        {
            var cost = 5m + 0.01m + random.Next(0, 100_000) / 100m;
            yield return new Attack("budget widening", $"cost {cost}", good, AipErrorCodes.BudgetExceeded, new Verification.AipAccessRequest("tool:search", cost));
        }

        // 9. malformed tokens: structure, encoding, claim types.
        var malformed = MalformedTokens(iss, sub, t0).ToArray();
        for (var i = 0; i < Math.Max(perCategory, malformed.Length); i++)
        {
            var (what, token) = malformed[i % malformed.Length];
            yield return new Attack("malformed", what, token, AipErrorCodes.TokenMalformed);
        }

        // 10. oversized tokens.
        for (var i = 0; i < perCategory; i++)
        {
            var padding = new string('a', 8 * 1024 + random.Next(1, 100_000));
            var token = (i % 3) switch
            {
                0 => RawJws.Sign(RawJws.Header, RawJws.Payload(iss, sub, extra: $",\"pad\":\"{padding}\""), Root),
                1 => padding + "." + padding + "." + padding,
                _ => good + padding,
            };
            yield return new Attack("oversized", $"{token.Length} chars", token, AipErrorCodes.TokenMalformed);
        }
    }

    private static string EditClaim(string payload, int i, Random random) => (i / 2 % 6) switch
    {
        0 => payload.Replace("\"tool:search\"", "\"tool:*\"", StringComparison.Ordinal),
        1 => payload.Replace("\"budget_usd\":5", $"\"budget_usd\":{random.Next(6, 10_000)}", StringComparison.Ordinal),
        2 => payload.Replace("\"max_depth\":2", $"\"max_depth\":{random.Next(3, 16)}", StringComparison.Ordinal),
        3 => payload.Replace(Id(Agent), Id(Attacker), StringComparison.Ordinal),
        4 => payload.Replace("\"exp\":", $"\"exp\":{random.Next(1, 9)}", StringComparison.Ordinal),
        _ => payload.Replace("tool:fetch", "tool:delete", StringComparison.Ordinal),
    };

    private static byte[] HmacWithPublicKey(string header, string payload) =>
        System.Security.Cryptography.HMACSHA256.HashData(Root.PublicKey, Encoding.ASCII.GetBytes(RawJws.B64(header) + "." + RawJws.B64(payload)));

    private static IEnumerable<(string, string)> MalformedTokens(string iss, string sub, long t0)
    {
        var good = RawJws.Sign(RawJws.Header, RawJws.Payload(iss, sub), Root);
        var p = good.Split('.');
        string Signed(string payload) => RawJws.Sign(RawJws.Header, payload, Root);

        yield return ("two parts", p[0] + "." + p[1]);
        yield return ("four parts", good + ".AAAA");
        yield return ("empty header", "." + p[1] + "." + p[2]);
        yield return ("empty payload", p[0] + ".." + p[2]);
        yield return ("padding", p[0] + "." + p[1] + "." + p[2] + "==");
        yield return ("standard base64 chars", p[0] + "." + p[1].Replace('-', '+').Replace('_', '/') + "+/." + p[2]);
        yield return ("space inside", p[0] + " ." + p[1] + "." + p[2]);
        yield return ("short signature", p[0] + "." + p[1] + "." + p[2][..40]);
        yield return ("long signature", p[0] + "." + p[1] + "." + RawJws.B64(new byte[65]));
        yield return ("non-canonical signature tail", p[0] + "." + p[1] + "." + p[2][..^1] + NonCanonicalTail(p[2][^1]));
        yield return ("impossible base64 length", p[0] + "." + p[1] + "A." + p[2]);
        yield return ("payload not json", Signed("not json"));
        yield return ("payload array", Signed("[1,2]"));
        yield return ("payload string", Signed("\"x\""));
        yield return ("header not json", RawJws.SignEncoded(RawJws.B64("{alg:EdDSA}"), p[1], Root));
        yield return ("missing iss", Signed(RawJws.Payload(iss, sub).Replace($"\"iss\":\"{iss}\",", string.Empty, StringComparison.Ordinal)));
        yield return ("missing scope", Signed($"{{\"iss\":\"{iss}\",\"sub\":\"{sub}\",\"max_depth\":0,\"iat\":{t0},\"exp\":{t0 + 60}}}"));
        yield return ("missing exp", Signed($"{{\"iss\":\"{iss}\",\"sub\":\"{sub}\",\"scope\":[\"a:b\"],\"max_depth\":0,\"iat\":{t0}}}"));
        yield return ("missing max_depth", Signed($"{{\"iss\":\"{iss}\",\"sub\":\"{sub}\",\"scope\":[\"a:b\"],\"iat\":{t0},\"exp\":{t0 + 60}}}"));
        yield return ("empty scope", Signed(RawJws.Payload(iss, sub, "[]")));
        yield return ("scope string", Signed(RawJws.Payload(iss, sub, "\"tool:search\"")));
        yield return ("scope wildcard everything", Signed(RawJws.Payload(iss, sub, "[\"*\"]")));
        yield return ("scope number", Signed(RawJws.Payload(iss, sub, "[1]")));
        yield return ("scope with space", Signed(RawJws.Payload(iss, sub, "[\"tool: x\"]")));
        yield return ("scope mid wildcard", Signed(RawJws.Payload(iss, sub, "[\"to*l:x\"]")));
        yield return ("too many scopes", Signed(RawJws.Payload(iss, sub, "[" + string.Join(',', Enumerable.Range(0, 65).Select(n => $"\"t:{n}\"")) + "]")));
        yield return ("negative budget", Signed(RawJws.Payload(iss, sub, budget: "-1")));
        yield return ("budget string", Signed(RawJws.Payload(iss, sub, budget: "\"5\"")));
        yield return ("budget huge", Signed(RawJws.Payload(iss, sub, budget: "1e300")));
        yield return ("negative depth", Signed(RawJws.Payload(iss, sub, maxDepth: "-1")));
        yield return ("fractional depth", Signed(RawJws.Payload(iss, sub, maxDepth: "1.5")));
        yield return ("huge depth", Signed(RawJws.Payload(iss, sub, maxDepth: "99999999999")));
        yield return ("depth string", Signed(RawJws.Payload(iss, sub, maxDepth: "\"1\"")));
        yield return ("fractional iat", Signed(RawJws.Payload(iss, sub).Replace($"\"iat\":{t0}", $"\"iat\":{t0}.5", StringComparison.Ordinal)));
        yield return ("iat string", Signed(RawJws.Payload(iss, sub).Replace($"\"iat\":{t0}", $"\"iat\":\"{t0}\"", StringComparison.Ordinal)));
        yield return ("duplicate scope claim", Signed(RawJws.Payload(iss, sub, extra: ",\"scope\":[\"tool:*\"]")));
        yield return ("duplicate exp claim", Signed(RawJws.Payload(iss, sub, extra: $",\"exp\":{t0 + 99999}")));
        yield return ("sub not an identifier", Signed(RawJws.Payload(iss, "bob")));
        yield return ("exp before iat", Signed(RawJws.Payload(iss, sub, iat: t0, exp: t0 - 1)));
        yield return ("exp far future", Signed(RawJws.Payload(iss, sub, iat: t0, exp: 999999999999)));
        yield return ("issued in the future", Signed(RawJws.Payload(iss, sub, iat: t0 + 3600, exp: t0 + 3700)));
        yield return ("deep nesting", Signed(RawJws.Payload(iss, sub, extra: ",\"x\":" + new string('[', 100) + new string(']', 100))));
        yield return ("control chars", "\u0000\u0001.\u0002.\u0003");
        yield return ("unicode dots", p[0] + "\u3002" + p[1] + "." + p[2]);
        yield return ("empty signature segment only", "..");
        yield return ("payload not utf8", RawJws.SignEncoded(p[0], RawJws.B64(new byte[] { 0xff, 0xfe, 0x7b, 0x7d }), Root));
    }

    private static char NonCanonicalTail(char last)
    {
        // The last char of an 86-char signature carries 2 unused bits: set one so the bytes decode the same.
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var index = alphabet.IndexOf(last, StringComparison.Ordinal);
        return alphabet[(index & ~0b11) | ((index & 0b11) == 0 ? 1 : 0)];
    }
}
