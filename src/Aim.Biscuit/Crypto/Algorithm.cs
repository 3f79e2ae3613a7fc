namespace Aim.Biscuit;

/// <summary>Signature algorithms of Biscuit keys (values match the protobuf enum).</summary>
public enum Algorithm
{
    /// <summary>Ed25519 (RFC 8032), through libsodium.</summary>
    Ed25519 = 0,
    /// <summary>ECDSA over NIST P-256 with SHA-256, DER signatures, compressed SEC1 public keys.</summary>
    Secp256r1 = 1,
}
