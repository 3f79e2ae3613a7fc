namespace Aim.Identity;

/// <summary>
/// An agent identifier (<c>aip:key:ed25519:z…</c> or <c>did:key:z6Mk…</c>) or a public key is malformed:
/// wrong prefix, a character outside base58btc, a wrong length or a wrong multicodec.
/// </summary>
public sealed class IdentityFormatException : AimException
{
    /// <summary>The stable error code.</summary>
    public const string ErrorCode = "aim_identity_malformed";

    /// <summary>Creates the exception; <paramref name="message"/> says what is wrong.</summary>
    public IdentityFormatException(string message)
        : base(ErrorCode, message)
    {
    }
}
