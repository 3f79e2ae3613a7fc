namespace Aim.Audit;

/// <summary>
/// A committed audit entry as read back from the log.
/// </summary>
/// <param name="Index">The zero-based position in the log (also bound into the signed body).</param>
/// <param name="Time">When the log accepted the entry (UTC, millisecond precision).</param>
/// <param name="Record">The recorded action.</param>
/// <param name="AgentPublicKey">The 32-byte Ed25519 public key that signed the entry.</param>
/// <param name="Signature">The 64-byte Ed25519 signature over the canonical JSON of every field except <c>sig</c>.</param>
/// <param name="CanonicalBytes">The stored RFC 8785 JSON including <c>sig</c>: the Merkle leaf.</param>
/// <param name="LeafHash">RFC 9162 leaf hash, SHA-256(0x00 || <paramref name="CanonicalBytes"/>).</param>
public sealed record AuditEntry(long Index, DateTimeOffset Time, AuditRecord Record, byte[] AgentPublicKey, byte[] Signature, byte[] CanonicalBytes, byte[] LeafHash);
