namespace Aim.Tokens.Chained;

/// <summary>What the authority block of a chained token grants.</summary>
/// <param name="Issuer">The root's AIP identifier; its key signs the token (an <c>aip:key</c> of the signer, or an <c>aip:web</c> listing it).</param>
/// <param name="Scopes">The rights (literals or <c>prefix:*</c> patterns), at least one.</param>
/// <param name="MaxDepth">How many delegations may follow (0 = none).</param>
/// <param name="ExpiresAt">Expiry of the whole chain (whole seconds).</param>
/// <param name="BudgetUsd">Spending ceiling in whole cents of USD, or null.</param>
/// <param name="Subject">The first holder, when it is not the issuer itself (the first delegation must then come from it).
/// An Aim extension (a <c>subject</c> fact the AIP reference ignores).</param>
/// <param name="Principal">The on-behalf-of party (the draft's optional <c>principal</c> fact, invariant along the chain), or null.</param>
public sealed record AipAuthority(string Issuer, IReadOnlyList<string> Scopes, int MaxDepth, DateTimeOffset ExpiresAt, decimal? BudgetUsd = null, string? Subject = null,
    string? Principal = null);

/// <summary>One delegation: to whom, which scopes (a subset), why, and optionally a smaller budget and earlier expiry.</summary>
/// <param name="Delegate">The receiving agent's AIP identifier.</param>
/// <param name="Scopes">The delegated scopes; must be covered by the current scopes.</param>
/// <param name="Context">Why the authority is handed on (must not be empty).</param>
/// <param name="BudgetUsd">A budget no higher than the current one, or null to keep it.</param>
/// <param name="ExpiresAt">An expiry no later than the current one, or null to keep it.</param>
public sealed record AipDelegation(string Delegate, IReadOnlyList<string> Scopes, string Context, decimal? BudgetUsd = null, DateTimeOffset? ExpiresAt = null);

/// <summary>How a delegation or completion block is written into a chained token.</summary>
public enum AipBlockForm
{
    /// <summary>
    /// An ordinary appended (attenuation) block, as AIP specifies and the AIP reference writes: it costs the
    /// verifier one Biscuit block signature. Whoever holds a non-sealed chained token can append such a block, so the
    /// <c>delegator</c> it names is a claim the chain must be consistent with, not a proof.
    /// </summary>
    Standard = 0,

    /// <summary>
    /// A Biscuit third-party block signed by the delegating agent's own key ("attested delegation"): it proves who delegated
    /// (or completed), at the cost of one more signature verification per block.
    /// </summary>
    Attested = 1,
}
