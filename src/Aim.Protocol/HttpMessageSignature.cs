using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Aim.Crypto;

namespace Aim.Protocol;

/// <summary>
/// RFC 9421 HTTP Message Signatures as Aim agents use them: Ed25519 over the components
/// <c>"@method" "@target-uri" "content-digest"</c> with the parameters <c>created</c>, <c>nonce</c>,
/// <c>keyid</c> and <c>alg="ed25519"</c>, and an RFC 9530 <c>Content-Digest</c> (sha-256) of the body.
/// The client signs with <see cref="Sign"/>; the server parses with <see cref="TryParse"/> and checks with
/// <see cref="Verify"/>. Parsing is strict: anything but exactly this profile is refused.
/// </summary>
public static class HttpMessageSignature
{
    /// <summary>The signature label the client uses.</summary>
    public const string Label = "sig1";

    /// <summary>The algorithm parameter value.</summary>
    public const string Algorithm = "ed25519";

    /// <summary>The covered components, in order (the server requires exactly these).</summary>
    public static IReadOnlyList<string> Components { get; } = ["@method", "@target-uri", "content-digest"];

    private const int MaxHeaderLength = 1024;

    // The inner list every signature of this profile starts with (built once, not per request).
    private static readonly string ExpectedComponents = "(" + string.Join(' ', Components.Select(c => "\"" + c + "\"")) + ")";

    /// <summary>The RFC 9530 <c>Content-Digest</c> value of a body: <c>sha-256=:&lt;base64&gt;:</c>.</summary>
    public static string ContentDigest(ReadOnlySpan<byte> body) => "sha-256=:" + Convert.ToBase64String(SHA256.HashData(body)) + ":";

    /// <summary>Signs a request.</summary>
    /// <param name="method">The HTTP method (upper case).</param>
    /// <param name="targetUri">The absolute request URI.</param>
    /// <param name="contentDigest">The <see cref="ContentDigest"/> of the body sent.</param>
    /// <param name="created">The signing time (Unix seconds).</param>
    /// <param name="nonce">A fresh random nonce (see <see cref="NewNonce"/>).</param>
    /// <param name="keyId">The agent's key id (its <c>aip:key:ed25519:z…</c> identifier).</param>
    /// <param name="key">The agent's key pair.</param>
    /// <returns>The <c>Signature-Input</c> and <c>Signature</c> header values.</returns>
    public static (string SignatureInput, string Signature) Sign(string method, Uri targetUri, string contentDigest, long created, string nonce, string keyId, Ed25519KeyPair key)
    {
        ArgumentNullException.ThrowIfNull(targetUri);
        ArgumentNullException.ThrowIfNull(key);
        string parameters = Parameters(created, nonce, keyId);
        var signatureBase = SignatureBase(method, targetUri.AbsoluteUri, contentDigest, parameters);
        var signature = key.Sign(signatureBase);
        return ($"{Label}={parameters}", $"{Label}=:{Convert.ToBase64String(signature)}:");
    }

    /// <summary>A 128-bit random nonce, base64url.</summary>
    public static string NewNonce() => Base64UrlNoPad(RandomNumberGenerator.GetBytes(16));

    /// <summary>The RFC 9421 signature base for this profile.</summary>
    public static byte[] SignatureBase(string method, string targetUri, string contentDigest, string signatureParams)
    {
        var text = new StringBuilder(256)
            .Append("\"@method\": ").Append(method).Append('\n')
            .Append("\"@target-uri\": ").Append(targetUri).Append('\n')
            .Append("\"content-digest\": ").Append(contentDigest).Append('\n')
            .Append("\"@signature-params\": ").Append(signatureParams)
            .ToString();
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>
    /// Parses the <c>Signature-Input</c> and <c>Signature</c> headers of this profile. Returns false (never throws)
    /// for anything else: other components, missing or repeated parameters, another algorithm, several signatures.
    /// </summary>
    public static bool TryParse(string? signatureInput, string? signature, out ParsedSignature parsed)
    {
        parsed = default;
        if (string.IsNullOrEmpty(signatureInput) || string.IsNullOrEmpty(signature)
            || signatureInput.Length > MaxHeaderLength || signature.Length > MaxHeaderLength)
        {
            return false;
        }

        int eq = signatureInput.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            return false;
        }

        string label = signatureInput[..eq];
        string parameters = signatureInput[(eq + 1)..];
        if (!IsToken(label) || !signature.StartsWith(label + "=:", StringComparison.Ordinal) || !signature.EndsWith(':') || signature.Length < label.Length + 3)
        {
            return false;
        }

        byte[] sig;
        try
        {
            sig = Convert.FromBase64String(signature.Substring(label.Length + 2, signature.Length - label.Length - 3));
        }
        catch (FormatException)
        {
            return false;
        }

        if (sig.Length != Ed25519.SignatureSize)
        {
            return false;
        }

        string expectedComponents = ExpectedComponents;
        if (!parameters.StartsWith(expectedComponents, StringComparison.Ordinal))
        {
            return false;
        }

        long? created = null;
        string? nonce = null;
        string? keyId = null;
        string? alg = null;
        foreach (var item in parameters[expectedComponents.Length..].Split(';'))
        {
            if (item.Length == 0)
            {
                continue;
            }

            int e = item.IndexOf('=', StringComparison.Ordinal);
            if (e <= 0)
            {
                return false;
            }

            string name = item[..e];
            string value = item[(e + 1)..];
            switch (name)
            {
                case "created" when created is null && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var c):
                    created = c;
                    break;
                case "nonce" when nonce is null && TryQuoted(value, out var n) && n.Length is >= 8 and <= 128:
                    nonce = n;
                    break;
                case "keyid" when keyId is null && TryQuoted(value, out var k) && k.Length is > 0 and <= 200:
                    keyId = k;
                    break;
                case "alg" when alg is null && TryQuoted(value, out var a):
                    alg = a;
                    break;
                default:
                    return false;
            }
        }

        if (created is null || nonce is null || keyId is null || (alg is not null && alg != Algorithm))
        {
            return false;
        }

        parsed = new ParsedSignature(label, parameters, created.Value, nonce, keyId, sig);
        return true;
    }

    /// <summary>Verifies a parsed signature over the request's method, URI and content digest with an Ed25519 public key.</summary>
    public static bool Verify(in ParsedSignature parsed, string method, string targetUri, string contentDigest, ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != Ed25519.PublicKeySize || parsed.Signature is null)
        {
            return false;
        }

        return Ed25519.Verify(publicKey, SignatureBase(method, targetUri, contentDigest, parsed.Parameters), parsed.Signature);
    }

    private static string Parameters(long created, string nonce, string keyId)
    {
        ArgumentException.ThrowIfNullOrEmpty(nonce);
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        if (nonce.Contains('"', StringComparison.Ordinal) || keyId.Contains('"', StringComparison.Ordinal) || nonce.Contains('\\', StringComparison.Ordinal) || keyId.Contains('\\', StringComparison.Ordinal))
        {
            throw new ArgumentException("Nonce and key id must not contain quotes or backslashes.");
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"(\"@method\" \"@target-uri\" \"content-digest\");created={created};nonce=\"{nonce}\";keyid=\"{keyId}\";alg=\"{Algorithm}\"");
    }

    private static bool TryQuoted(string value, out string inner)
    {
        inner = string.Empty;
        if (value.Length < 2 || value[0] != '"' || value[^1] != '"')
        {
            return false;
        }

        inner = value[1..^1];
        foreach (char ch in inner)
        {
            if (ch is '"' or '\\' or < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsToken(string label)
    {
        if (label.Length is 0 or > 32)
        {
            return false;
        }

        foreach (char ch in label)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static string Base64UrlNoPad(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A parsed RFC 9421 signature of the Aim profile.</summary>
/// <param name="Label">The signature label.</param>
/// <param name="Parameters">The exact <c>@signature-params</c> value (components and parameters) that was signed.</param>
/// <param name="Created">The <c>created</c> parameter (Unix seconds).</param>
/// <param name="Nonce">The <c>nonce</c> parameter.</param>
/// <param name="KeyId">The <c>keyid</c> parameter.</param>
/// <param name="Signature">The 64-byte signature.</param>
public readonly record struct ParsedSignature(string Label, string Parameters, long Created, string Nonce, string KeyId, byte[] Signature);
