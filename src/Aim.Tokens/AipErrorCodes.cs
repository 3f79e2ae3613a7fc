namespace Aim.Tokens;

/// <summary>
/// The AIP error codes (stable strings, shared with other AIP implementations) and the HTTP status each maps to.
/// </summary>
public static class AipErrorCodes
{
    /// <summary>No token was presented (HTTP 401).</summary>
    public const string TokenMissing = "aip_token_missing";

    /// <summary>The token is not well formed: encoding, header, claims, empty delegation context (HTTP 401).</summary>
    public const string TokenMalformed = "aip_token_malformed";

    /// <summary>A signature does not verify (V1, HTTP 401).</summary>
    public const string SignatureInvalid = "aip_signature_invalid";

    /// <summary>The root identity cannot be resolved or is not trusted (V2, HTTP 401).</summary>
    public const string IdentityUnresolvable = "aip_identity_unresolvable";

    /// <summary>The token has expired, or a block extends the expiry of its parent (V4, HTTP 401).</summary>
    public const string TokenExpired = "aip_token_expired";

    /// <summary>A key in the chain is revoked, or revocation status cannot be established (V7, HTTP 401).</summary>
    public const string KeyRevoked = "aip_key_revoked";

    /// <summary>The requested tool is outside the scope, or a block widens its parent's scope (V4/V6, HTTP 403).</summary>
    public const string ScopeInsufficient = "aip_scope_insufficient";

    /// <summary>The delegation chain is deeper than allowed (V3, HTTP 403).</summary>
    public const string DepthExceeded = "aip_depth_exceeded";

    /// <summary>A block raises the budget above an ancestor's, or a cost exceeds the budget (V4, HTTP 403).</summary>
    public const string BudgetExceeded = "aip_budget_exceeded";

    /// <summary>Every code, in verification-order of the rules that raise it.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        TokenMissing, TokenMalformed, SignatureInvalid, IdentityUnresolvable, TokenExpired, KeyRevoked,
        ScopeInsufficient, DepthExceeded, BudgetExceeded,
    ];

    /// <summary>The HTTP status for a code: 403 for scope, depth and budget; 401 for everything else (unknown codes included).</summary>
    public static int HttpStatusFor(string code) => code switch
    {
        ScopeInsufficient or DepthExceeded or BudgetExceeded => 403,
        _ => 401,
    };
}
