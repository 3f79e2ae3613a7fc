namespace Aim.Tokens.Verification;

/// <summary>Compact (one hop, JWS) or chained (Biscuit, many hops).</summary>
public enum AipTokenMode
{
    /// <summary>A compact EdDSA JWT.</summary>
    Compact,

    /// <summary>A Biscuit chain.</summary>
    Chained,
}

/// <summary>One delegation in a chain: who handed authority to whom, why, and with what limits.</summary>
/// <param name="Delegator">The AIP identifier of the agent that delegated.</param>
/// <param name="Delegate">The AIP identifier of the agent that received the authority.</param>
/// <param name="Context">Why (non-empty).</param>
/// <param name="Scopes">The scopes the block allows.</param>
/// <param name="BudgetUsd">The block's budget, if it sets one.</param>
/// <param name="ExpiresAt">The block's expiry, if it sets one.</param>
public sealed record AipDelegationHop(string Delegator, string Delegate, string Context, IReadOnlyList<string> Scopes, decimal? BudgetUsd, DateTimeOffset? ExpiresAt);

/// <summary>The completion block that may close a chain.</summary>
/// <param name="Status">The outcome, for example <c>success</c>.</param>
/// <param name="ResultHash">A hash of the result (hex or any agreed text), if given.</param>
/// <param name="CostUsd">What the work cost.</param>
/// <param name="Tokens">Model tokens used.</param>
/// <param name="DurationMs">How long it took, in milliseconds.</param>
public sealed record AipCompletion(string Status, string? ResultHash, decimal? CostUsd, long? Tokens, long? DurationMs);

/// <summary>
/// A token that passed verification. <see cref="Scopes"/>, <see cref="BudgetUsd"/> and <see cref="ExpiresAt"/> are the
/// effective (narrowest) values along the chain.
/// </summary>
public sealed class AipVerifiedToken
{
    internal AipVerifiedToken(
        AipTokenMode mode,
        string issuer,
        string subject,
        IReadOnlyList<string> scopes,
        decimal? budgetUsd,
        int maxDepth,
        DateTimeOffset issuedAt,
        DateTimeOffset expiresAt,
        IReadOnlyList<AipDelegationHop> hops,
        AipCompletion? completion,
        IReadOnlyList<string> signerIds)
    {
        Mode = mode;
        Issuer = issuer;
        Subject = subject;
        Scopes = scopes;
        BudgetUsd = budgetUsd;
        MaxDepth = maxDepth;
        IssuedAt = issuedAt;
        ExpiresAt = expiresAt;
        Hops = hops;
        Completion = completion;
        SignerIds = signerIds;
    }

    /// <summary>Compact or chained.</summary>
    public AipTokenMode Mode { get; }

    /// <summary>The root identity that issued the token.</summary>
    public string Issuer { get; }

    /// <summary>The agent the token now belongs to: the last delegate, or <c>sub</c> of the root.</summary>
    public string Subject { get; }

    /// <summary>The effective scopes (those of the last block that sets scope).</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>The effective budget (the smallest along the chain), or null for none.</summary>
    public decimal? BudgetUsd { get; }

    /// <summary>The root's <c>max_depth</c>.</summary>
    public int MaxDepth { get; }

    /// <summary>How many delegations the chain holds (0 for a compact token).</summary>
    public int Depth => Hops.Count;

    /// <summary>When the root was issued (<c>iat</c>); <see cref="DateTimeOffset.MinValue"/> for a chained token, whose template carries no issue time.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The effective expiry (the earliest along the chain).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The delegations, root first.</summary>
    public IReadOnlyList<AipDelegationHop> Hops { get; }

    /// <summary>The completion block, if the chain was closed.</summary>
    public AipCompletion? Completion { get; }

    /// <summary>The AIP identifiers of every key that signed a part of the token (revocation).</summary>
    public IReadOnlyList<string> SignerIds { get; }

    /// <summary>True when the effective scopes allow <paramref name="tool"/> (a capability maps to the scope of the same string).</summary>
    public bool Allows(string tool) => AipScope.AnyAllows(Scopes, tool);

    /// <summary>A one-line-per-hop account of who authorized what.</summary>
    public string DescribeProvenance()
    {
        var lines = new List<string>
        {
            $"root {Issuer}{(Mode == AipTokenMode.Compact || Hops.Count == 0 || Hops[0].Delegator != Issuer ? " -> " + (Hops.Count == 0 ? Subject : Hops[0].Delegator) : string.Empty)} scope [{string.Join(", ", RootScopesForDisplay())}]" +
            (RootBudget is { } b ? $" budget ${b}" : string.Empty),
        };
        foreach (var hop in Hops)
        {
            lines.Add($"  {hop.Delegator} -> {hop.Delegate} scope [{string.Join(", ", hop.Scopes)}]" +
                      (hop.BudgetUsd is { } hb ? $" budget ${hb}" : string.Empty) + $" context \"{hop.Context}\"");
        }

        if (Completion is { } c)
        {
            lines.Add($"  completed: {c.Status}" + (c.CostUsd is { } cost ? $" cost ${cost}" : string.Empty));
        }

        return string.Join(Environment.NewLine, lines);
    }

    internal IReadOnlyList<string> RootScopes { get; init; } = [];

    internal decimal? RootBudget { get; init; }

    private IReadOnlyList<string> RootScopesForDisplay() => RootScopes.Count > 0 ? RootScopes : Scopes;
}

/// <summary>What a caller wants to do with a token.</summary>
/// <param name="Tool">The tool or capability about to be used (checked against the scopes), or null to check the token only.</param>
/// <param name="CostUsd">What the call will cost, checked against the budget, or null.</param>
public sealed record AipAccessRequest(string? Tool = null, decimal? CostUsd = null);
