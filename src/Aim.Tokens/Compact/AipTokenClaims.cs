namespace Aim.Tokens.Compact;

/// <summary>
/// The claims of a compact AIP token: <c>iss</c>, <c>sub</c>, <c>scope</c>, optional <c>budget_usd</c>,
/// <c>max_depth</c>, <c>iat</c>, <c>exp</c>.
/// </summary>
/// <param name="Issuer">The issuer's AIP identifier (<c>iss</c>); it signs the token.</param>
/// <param name="Subject">The AIP identifier of the agent the token is for (<c>sub</c>).</param>
/// <param name="Scopes">Non-empty list of scopes (<c>scope</c>); literals or <c>prefix:*</c> patterns.</param>
/// <param name="BudgetUsd">Spending ceiling in US dollars (<c>budget_usd</c>), or null for none.</param>
/// <param name="MaxDepth">How many further delegations are allowed (<c>max_depth</c>; 0 = none).</param>
/// <param name="IssuedAt">Issue time (<c>iat</c>, whole seconds).</param>
/// <param name="ExpiresAt">Expiry (<c>exp</c>, whole seconds); AIP requires a lifetime under an hour.</param>
public sealed record AipTokenClaims(
    string Issuer,
    string Subject,
    IReadOnlyList<string> Scopes,
    decimal? BudgetUsd,
    int MaxDepth,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt);
