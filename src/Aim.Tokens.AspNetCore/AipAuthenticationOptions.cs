using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Authentication;

namespace Aim.Tokens.AspNetCore;

/// <summary>Options of the AIP authentication scheme.</summary>
public sealed class AipAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The verifier settings (trust store, resolver, revocation, clock). Ignored when <see cref="Verifier"/> is set.</summary>
    public AipVerifierOptions Verification { get; set; } = new();

    /// <summary>A ready verifier to share (optional); otherwise one is built from <see cref="Verification"/>.</summary>
    public AipVerifier? Verifier { get; set; }
}

/// <summary>Names of the AIP scheme and of the claims it issues.</summary>
public static class AipAuthenticationDefaults
{
    /// <summary>The scheme name.</summary>
    public const string Scheme = "AIP";

    /// <summary>One claim per effective scope.</summary>
    public const string ScopeClaim = "aip_scope";

    /// <summary>The root identity.</summary>
    public const string IssuerClaim = "aip_issuer";

    /// <summary>The holder (the subject; also the name identifier).</summary>
    public const string SubjectClaim = "sub";

    /// <summary><c>compact</c> or <c>chained</c>.</summary>
    public const string ModeClaim = "aip_mode";

    /// <summary>Number of delegations.</summary>
    public const string DepthClaim = "aip_depth";

    /// <summary>Effective budget in USD, when the token has one.</summary>
    public const string BudgetClaim = "aip_budget_usd";

    /// <summary>The raw token, for code that delegates further.</summary>
    public const string TokenItem = "aip_token";
}
