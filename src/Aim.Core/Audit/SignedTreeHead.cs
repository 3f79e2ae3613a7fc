using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aim.Crypto;
using Aim.Json;

namespace Aim.Audit;

/// <summary>
/// A signed tree head (STH): the log key's signature over the size and Merkle root of the log at a moment.
/// Keep one somewhere the log's host cannot rewrite; a later <see cref="AuditLog.Verify(SignedTreeHead?, CancellationToken)"/> or
/// <see cref="AuditVerifier.VerifyFile(string, SignedTreeHead?, CancellationToken)"/> against it detects any rewrite or truncation of the first
/// <see cref="TreeSize"/> entries. The signed bytes are the RFC 8785 JSON
/// <c>{"log_key","root","timestamp","tree_size","type":"aim-audit-sth/1"}</c> (keys and root base64url).
/// </summary>
/// <param name="TreeSize">How many entries the head covers.</param>
/// <param name="RootHash">The RFC 9162 Merkle tree hash of those entries (32 bytes).</param>
/// <param name="Timestamp">When the head was signed (UTC, millisecond precision).</param>
/// <param name="LogPublicKey">The log's 32-byte Ed25519 public key.</param>
/// <param name="Signature">The 64-byte Ed25519 signature.</param>
public sealed record SignedTreeHead(long TreeSize, byte[] RootHash, DateTimeOffset Timestamp, byte[] LogPublicKey, byte[] Signature)
{
    private const string TypeName = "aim-audit-sth/1";

    /// <summary>True when the signature verifies under <see cref="LogPublicKey"/> and every field is well formed.
    /// Callers must also check that <see cref="LogPublicKey"/> is the log key they trust.</summary>
    public bool VerifySignature()
    {
        if (TreeSize < 0 || RootHash is not { Length: MerkleHash.Size } || LogPublicKey is not { Length: Ed25519.PublicKeySize }
            || Signature is not { Length: Ed25519.SignatureSize })
        {
            return false;
        }

        return Ed25519.Verify(LogPublicKey, SignedBytes(), Signature);
    }

    /// <summary>The head as one line of canonical JSON (the format of the <c>.heads</c> side file).</summary>
    public string ToJson() => Encoding.UTF8.GetString(Write(includeSignature: true));

    /// <summary>Parses <see cref="ToJson"/> output. Does not verify the signature: call <see cref="VerifySignature"/>.</summary>
    /// <exception cref="AuditLogException">Code <c>aim_audit_tree_head_invalid</c>: not JSON or a field is missing or malformed.</exception>
    public static SignedTreeHead FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || root.GetProperty("type").GetString() != TypeName
                || !root.GetProperty("tree_size").TryGetInt64(out var size) || size < 0
                || !AuditFormat.TryFromBase64Url(root.GetProperty("root").GetString(), MerkleHash.Size, out var rootHash)
                || !AuditFormat.TryFromBase64Url(root.GetProperty("log_key").GetString(), Ed25519.PublicKeySize, out var key)
                || !AuditFormat.TryFromBase64Url(root.GetProperty("sig").GetString(), Ed25519.SignatureSize, out var sig)
                || !AuditFormat.TryParseTime(root.GetProperty("timestamp").GetString(), out var time))
            {
                throw Invalid("a field is missing or malformed", null);
            }

            return new SignedTreeHead(size, rootHash, time, key, sig);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            // ArgumentException: text with an unpaired surrogate cannot even be read as JSON.
            throw Invalid(ex.Message, ex);
        }
    }

    /// <summary>Signs a tree head with the log key (the timestamp is truncated to milliseconds).</summary>
    /// <param name="treeSize">How many entries the head covers.</param>
    /// <param name="rootHash">Their RFC 9162 root (32 bytes).</param>
    /// <param name="timestamp">When the head is signed.</param>
    /// <param name="logKey">The log key.</param>
    /// <returns>The signed head.</returns>
    public static SignedTreeHead Sign(long treeSize, byte[] rootHash, DateTimeOffset timestamp, Ed25519KeyPair logKey) => Create(treeSize, rootHash, timestamp, logKey);

    /// <summary>Signs a tree head with the log key.</summary>
    internal static SignedTreeHead Create(long treeSize, byte[] rootHash, DateTimeOffset timestamp, Ed25519KeyPair logKey)
    {
        var unsigned = new SignedTreeHead(treeSize, rootHash, AuditFormat.TruncateToMilliseconds(timestamp), logKey.PublicKey.ToArray(), []);
        return unsigned with { Signature = logKey.Sign(unsigned.SignedBytes()) };
    }

    /// <summary>True when both heads state the same size, root and key (signatures and times may differ).</summary>
    /// <param name="other">The other head.</param>
    public bool SameTree(SignedTreeHead other) =>
        TreeSize == other.TreeSize
        && CryptographicOperations.FixedTimeEquals(RootHash, other.RootHash)
        && LogPublicKey.AsSpan().SequenceEqual(other.LogPublicKey);

    internal byte[] SignedBytes() => Write(includeSignature: false);

    private byte[] Write(bool includeSignature)
    {
        var w = new CanonicalJsonWriter(256);
        w.StartObject();
        w.Key("log_key");
        w.String(AuditFormat.ToBase64Url(LogPublicKey));
        w.Key("root");
        w.String(AuditFormat.ToBase64Url(RootHash));
        if (includeSignature)
        {
            w.Key("sig");
            w.String(AuditFormat.ToBase64Url(Signature));
        }

        w.Key("timestamp");
        w.String(AuditFormat.FormatTime(Timestamp));
        w.Key("tree_size");
        w.Integer(TreeSize);
        w.Key("type");
        w.String(TypeName);
        w.EndObject();
        return w.ToArray();
    }

    private static AuditLogException Invalid(string why, Exception? inner) =>
        new(AuditLogException.TreeHeadInvalid, $"Not a valid signed tree head: {why}.", inner);
}
