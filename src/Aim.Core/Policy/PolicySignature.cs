using System.Buffers.Text;
using System.Text.Json;
using Aim.Crypto;
using Aim.Identity;

namespace Aim.Policy;

/// <summary>The state of a policy file's detached signature.</summary>
public enum PolicySignatureStatus
{
    /// <summary>There is no <c>.sig</c> file.</summary>
    Unsigned,

    /// <summary>The signature verifies with a trusted key over the file's current bytes.</summary>
    Valid,

    /// <summary>The signature file is malformed or does not verify (the policy changed after signing, or was forged).</summary>
    Invalid,

    /// <summary>The signature verifies, but with a key that is not trusted.</summary>
    UntrustedSigner,
}

/// <summary>The outcome of <see cref="PolicySignature.Verify"/>.</summary>
/// <param name="Status">The state.</param>
/// <param name="Signer">The signer's AIP identifier, when the signature file names one.</param>
/// <param name="Explanation">What was found, for people.</param>
public sealed record PolicySignatureResult(PolicySignatureStatus Status, string? Signer, string Explanation);

/// <summary>
/// Detached Ed25519 signatures of policy files: <c>&lt;policy&gt;.sig</c> beside the policy, holding
/// <c>{"format":"aim-detached-signature","version":1,"signer":"aip:key:ed25519:z…","signature":"&lt;base64url&gt;"}</c>.
/// The signature covers the policy file's exact bytes.
/// </summary>
public static class PolicySignature
{
    /// <summary>The format tag of signature files.</summary>
    public const string FormatTag = "aim-detached-signature";

    private const int MaxSignatureFileSize = 4096;

    /// <summary>The signature file of a policy file.</summary>
    public static string SignatureFileFor(string policyPath) => policyPath + ".sig";

    /// <summary>Signs the policy file's current bytes with <paramref name="key"/> and writes (replaces) its <c>.sig</c> file.</summary>
    /// <exception cref="IOException">The files cannot be read or written.</exception>
    public static void Sign(string policyPath, AgentKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var content = File.ReadAllBytes(policyPath);
        var signature = key.Sign(content);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("format", FormatTag);
            writer.WriteNumber("version", 1);
            writer.WriteString("signer", key.Identity.AipId);
            writer.WriteString("signature", Base64Url.EncodeToString(signature));
            writer.WriteEndObject();
        }

        File.WriteAllBytes(SignatureFileFor(policyPath), stream.ToArray());
    }

    /// <summary>
    /// Checks the policy file against its <c>.sig</c> file and a set of trusted keys. Never throws for bad
    /// input: every problem is a status with an explanation.
    /// </summary>
    public static PolicySignatureResult Verify(string policyPath, IEnumerable<AgentIdentity> trustedKeys)
    {
        ArgumentNullException.ThrowIfNull(trustedKeys);
        var sigPath = SignatureFileFor(policyPath);
        if (!File.Exists(sigPath))
        {
            return new(PolicySignatureStatus.Unsigned, null, $"No signature file {sigPath}.");
        }

        byte[] policy;
        byte[] sigFile;
        try
        {
            if (new FileInfo(sigPath).Length > MaxSignatureFileSize)
            {
                return new(PolicySignatureStatus.Invalid, null, $"{sigPath} is too large to be a signature file.");
            }

            policy = File.ReadAllBytes(policyPath);
            sigFile = File.ReadAllBytes(sigPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new(PolicySignatureStatus.Invalid, null, $"Cannot read the policy or its signature: {ex.Message}");
        }

        string? signer;
        byte[] publicKey;
        byte[] signature;
        try
        {
            using var document = JsonDocument.Parse(sigFile);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != FormatTag
                || !root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != 1
                || !root.TryGetProperty("signer", out var signerElement) || signerElement.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("signature", out var signatureElement) || signatureElement.ValueKind != JsonValueKind.String)
            {
                return new(PolicySignatureStatus.Invalid, null, $"{sigPath} is not an Aim detached signature (version 1).");
            }

            signer = signerElement.GetString()!;
            var signatureText = signatureElement.GetString()!;
            if (!AgentIdentity.TryPublicKeyFromAipId(signer, out publicKey)
                || !Base64Url.IsValid(signatureText.AsSpan(), out int length) || length != Ed25519.SignatureSize)
            {
                return new(PolicySignatureStatus.Invalid, null, $"{sigPath} has a malformed signer or signature.");
            }

            signature = Base64Url.DecodeFromChars(signatureText);
        }
        catch (JsonException)
        {
            return new(PolicySignatureStatus.Invalid, null, $"{sigPath} is not valid JSON.");
        }

        if (!Ed25519.Verify(publicKey, policy, signature))
        {
            return new(PolicySignatureStatus.Invalid, signer, $"The signature in {sigPath} does not match the policy's current content.");
        }

        foreach (var trusted in trustedKeys)
        {
            if (trusted.PublicKey.Span.SequenceEqual(publicKey))
            {
                return new(PolicySignatureStatus.Valid, signer, $"Signed by '{trusted.Name}' ({signer}), a key in the key store.");
            }
        }

        return new(PolicySignatureStatus.UntrustedSigner, signer, $"Signed by {signer}, which is not a key in the key store.");
    }
}
