using Aim.Biscuit;
using Aim.Biscuit.Datalog;
using Aim.Crypto;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;
using BiscuitToken = Aim.Biscuit.BiscuitToken;
using T = Aim.Tokens.Chained.AipBlockTemplates;

namespace Aim.Tokens.Chained;

/// <summary>
/// Chained AIP tokens on Biscuit v3: <see cref="Create"/> signs the authority block with the root's key;
/// <see cref="Delegate(string, Ed25519KeyPair, AipDelegation, AipBlockForm)"/> appends a delegation block for the current
/// holder; <see cref="Complete(string, Ed25519KeyPair, AipCompletion, AipBlockForm)"/> closes the chain with a completion
/// block. Blocks follow the block templates of draft-prakash-aip-01 section 7.1 (<see cref="AipBlockTemplates"/>) and are
/// ordinary appended Biscuit blocks by default (<see cref="AipBlockForm.Standard"/>, what the AIP reference writes and reads); <see cref="AipBlockForm.Attested"/> writes them as third-party blocks signed by the
/// delegating agent's key, which proves who delegated at the cost of one more signature per hop. These honest operations
/// refuse to widen anything, but the verifier never relies on that: it re-checks every rule on the bytes.
/// </summary>
public static class ChainedToken
{
    /// <summary>Creates the authority block.</summary>
    /// <param name="root">The root's key pair (becomes the Biscuit root key).</param>
    /// <param name="authority">What the root grants.</param>
    /// <returns>The token as base64url text.</returns>
    /// <exception cref="ArgumentException">Invalid scopes, identifiers, depth, budget (whole cents), or an <c>aip:key</c> issuer of another key.</exception>
    public static string Create(Ed25519KeyPair root, AipAuthority authority)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(authority);
        var issuer = RequireIdentifier(authority.Issuer, nameof(authority));
        if (issuer.Kind == AipIdentifierKind.Key && !issuer.PublicKey.SequenceEqual(root.PublicKey))
        {
            throw new ArgumentException("The issuer aip:key is not the root key.", nameof(authority));
        }

        RequireScopes(authority.Scopes, nameof(authority));
        if (authority.MaxDepth is < 0 or > 64)
        {
            throw new ArgumentException("max_depth is 0 to 64.", nameof(authority));
        }

        if (authority.Subject is not null)
        {
            RequireIdentifier(authority.Subject, nameof(authority));
        }

        if (authority.Principal is { } principal && string.IsNullOrWhiteSpace(principal))
        {
            throw new ArgumentException("A principal is a non-empty identifier.", nameof(authority));
        }

        // The draft's authority template (section 7.1), in its order; subject is Aim's optional extension.
        var scopes = authority.Scopes.Distinct(StringComparer.Ordinal).ToArray();
        var builder = BiscuitToken.CreateBuilder();
        var block = builder.Authority;
        block.AddFact(new Fact(T.Identity, Term.String(issuer.Value)));
        if (authority.Principal is not null)
        {
            block.AddFact(new Fact(T.Principal, Term.String(authority.Principal)));
        }

        foreach (var scope in scopes)
        {
            block.AddFact(new Fact(T.Right, Term.String(scope)));
        }

        block.AddFact(new Fact(T.MaxDepth, Term.Integer(authority.MaxDepth)));
        if (authority.BudgetUsd is { } budget)
        {
            block.AddFact(new Fact(T.Budget, Term.Integer(T.ToCents(budget))));
        }

        if (authority.Subject is not null)
        {
            block.AddFact(new Fact(T.Subject, Term.String(authority.Subject)));
        }

        block.AddCheck(T.ToolCheck(scopes));
        block.AddCheck(T.TimeCheck(Truncate(authority.ExpiresAt)));
        using var rootKey = KeyPair.FromPrivateKey(root.ExportSeed(), Algorithm.Ed25519);
        return builder.Build(rootKey).ToBase64();
    }

    /// <summary>
    /// Appends a delegation block from <paramref name="delegator"/>, the current holder, as an ordinary appended block
    /// (<see cref="AipBlockForm.Standard"/>).
    /// </summary>
    /// <returns>The longer token.</returns>
    /// <exception cref="AipException">The token is malformed, completed, the delegator is not its holder
    /// (<see cref="AipErrorCodes.SignatureInvalid"/>), or the delegation widens scope, budget or expiry, exceeds the depth,
    /// or has an empty context (the verifier's codes).</exception>
    /// <exception cref="ArgumentException">Invalid identifiers or scopes, or a budget in fractions of a cent.</exception>
    public static string Delegate(string token, Ed25519KeyPair delegator, AipDelegation delegation) =>
        Delegate(token, delegator, delegation, AipBlockForm.Standard);

    /// <summary>
    /// Appends a delegation block from <paramref name="delegator"/>, the current holder: an ordinary appended block
    /// (<see cref="AipBlockForm.Standard"/>), or a third-party block signed with the delegator's key
    /// (<see cref="AipBlockForm.Attested"/>).
    /// </summary>
    /// <returns>The longer token.</returns>
    /// <exception cref="AipException">The token is malformed, completed, the delegator is not its holder
    /// (<see cref="AipErrorCodes.SignatureInvalid"/>), or the delegation widens scope, budget or expiry, exceeds the depth,
    /// or has an empty context (the verifier's codes).</exception>
    /// <exception cref="ArgumentException">Invalid identifiers or scopes, a budget in fractions of a cent, or an unknown form.</exception>
    public static string Delegate(string token, Ed25519KeyPair delegator, AipDelegation delegation, AipBlockForm form)
    {
        ArgumentNullException.ThrowIfNull(delegator);
        ArgumentNullException.ThrowIfNull(delegation);
        RequireForm(form);
        var (biscuit, model) = Read(token);
        var state = ChainState.Walk(model);
        if (model.Completion is not null)
        {
            throw AipException.Malformed("The chain is completed; it cannot be delegated further.");
        }

        var delegatorId = AipIdentifier.ForKey(delegator.PublicKey);
        if (!string.Equals(delegatorId, state.Holder, StringComparison.Ordinal))
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, $"Only the holder {state.Holder} can delegate this token.");
        }

        RequireIdentifier(delegation.Delegate, nameof(delegation));
        RequireScopes(delegation.Scopes, nameof(delegation));
        if (string.IsNullOrWhiteSpace(delegation.Context))
        {
            throw AipException.Malformed("A delegation needs a non-empty context.");
        }

        if (model.Delegations.Count + 1 > model.Authority.MaxDepth)
        {
            throw new AipException(AipErrorCodes.DepthExceeded, $"max_depth {model.Authority.MaxDepth} allows no further delegation.");
        }

        if (!AipScope.IsSubset(delegation.Scopes, state.Scopes))
        {
            throw new AipException(AipErrorCodes.ScopeInsufficient, "The delegated scopes are not a subset of the current scopes.");
        }

        long? budget = delegation.BudgetUsd is { } usd ? T.ToCents(usd) : null;
        if (budget is { } b && state.BudgetCents is { } current && b > current)
        {
            throw new AipException(AipErrorCodes.BudgetExceeded, "The delegated budget is above the current budget.");
        }

        DateTimeOffset? expires = delegation.ExpiresAt is { } e ? Truncate(e) : null;
        if (expires > state.ExpiresAt)
        {
            throw new AipException(AipErrorCodes.TokenExpired, "The delegation cannot outlive its parent.");
        }

        // The draft's delegation template: no right facts, the scopes live in the block's own tool check.
        var block = new BlockBuilder();
        block.AddFact(new Fact(T.Delegator, Term.String(delegatorId)));
        block.AddFact(new Fact(T.Delegate, Term.String(delegation.Delegate)));
        block.AddFact(new Fact(T.Context, Term.String(delegation.Context)));
        if (budget is { } cents)
        {
            block.AddFact(new Fact(T.Budget, Term.Integer(cents)));
        }

        block.AddCheck(T.ToolCheck(delegation.Scopes.Distinct(StringComparer.Ordinal).ToArray()));
        if (expires is { } exp)
        {
            block.AddCheck(T.TimeCheck(exp));
        }

        return Append(biscuit, delegator, block, form);
    }

    /// <summary>Closes the chain with a completion block from the holder, as an ordinary appended block.</summary>
    /// <exception cref="AipException">The token is malformed or completed, or <paramref name="holder"/> is not its holder.</exception>
    /// <exception cref="ArgumentException">An empty status, negative numbers, or a cost in fractions of a cent.</exception>
    public static string Complete(string token, Ed25519KeyPair holder, AipCompletion completion) =>
        Complete(token, holder, completion, AipBlockForm.Standard);

    /// <summary>
    /// Closes the chain with a completion block from the holder: appended (<see cref="AipBlockForm.Standard"/>) or signed
    /// with the holder's key (<see cref="AipBlockForm.Attested"/>).
    /// </summary>
    /// <exception cref="AipException">The token is malformed or completed, or <paramref name="holder"/> is not its holder.</exception>
    /// <exception cref="ArgumentException">An empty status, negative numbers, a cost in fractions of a cent, or an unknown form.</exception>
    public static string Complete(string token, Ed25519KeyPair holder, AipCompletion completion, AipBlockForm form)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(completion);
        RequireForm(form);
        ArgumentException.ThrowIfNullOrWhiteSpace(completion.Status);
        var (biscuit, model) = Read(token);
        var state = ChainState.Walk(model);
        if (model.Completion is not null)
        {
            throw AipException.Malformed("The chain is already completed.");
        }

        var holderId = AipIdentifier.ForKey(holder.PublicKey);
        if (!string.Equals(holderId, state.Holder, StringComparison.Ordinal))
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, $"Only the holder {state.Holder} can complete this token.");
        }

        if (completion.Tokens < 0 || completion.DurationMs < 0)
        {
            throw new ArgumentException("Token counts and durations are not negative.", nameof(completion));
        }

        var block = new BlockBuilder();
        block.AddFact(new Fact(T.CompletedBy, Term.String(holderId)));
        block.AddFact(new Fact(T.Status, Term.String(completion.Status)));
        block.AddFact(new Fact(T.Context, Term.String(T.CompletionContext)));
        if (completion.ResultHash is { } hash)
        {
            block.AddFact(new Fact(T.ResultHash, Term.String(hash)));
        }

        if (completion.CostUsd is { } cost)
        {
            block.AddFact(new Fact(T.Cost, Term.Integer(T.ToCents(cost))));
        }

        if (completion.Tokens is { } tokens)
        {
            block.AddFact(new Fact(T.Tokens, Term.Integer(tokens)));
        }

        if (completion.DurationMs is { } ms)
        {
            block.AddFact(new Fact(T.DurationMs, Term.Integer(ms)));
        }

        return Append(biscuit, holder, block, form);
    }

    /// <summary>True when the text looks like a chained token (no dots; a compact token has two).</summary>
    public static bool LooksChained(string token) => !string.IsNullOrEmpty(token) && !token.Contains('.', StringComparison.Ordinal);

    /// <summary>Prints every block's Datalog WITHOUT verifying anything (inspection only).</summary>
    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMalformed"/>: not a Biscuit token.</exception>
    public static string Describe(string token)
    {
        var biscuit = ParseUnverified(token);
        var lines = new List<string>();
        for (var i = 0; i < biscuit.Blocks.Count; i++)
        {
            var block = biscuit.Blocks[i];
            lines.Add(i == 0 ? "block 0 (authority):" : $"block {i} ({(block.ExternalKey is { } k ? $"attested: signed by {(k.Algorithm == Algorithm.Ed25519 ? AipIdentifier.ForKey(k.Bytes) : k.ToString())}" : "appended")}):");
            lines.AddRange(block.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l.TrimEnd()));
        }

        return string.Join(Environment.NewLine, lines);
    }

    internal static BiscuitToken ParseUnverified(string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new AipException(AipErrorCodes.TokenMissing, "No token.");
        }

        try
        {
            return BiscuitToken.FromBase64Unverified(token.Trim());
        }
        catch (Exception ex) when (ex is BiscuitException or FormatException or ArgumentException)
        {
            throw AipException.Malformed("The token is not a Biscuit token.", ex);
        }
    }

    private static (BiscuitToken Biscuit, AipChainModel Model) Read(string token)
    {
        var biscuit = ParseUnverified(token);
        return (biscuit, AipChainModel.Read(biscuit));
    }

    private static string Append(BiscuitToken biscuit, Ed25519KeyPair signer, BlockBuilder block, AipBlockForm form)
    {
        if (form == AipBlockForm.Standard)
        {
            return biscuit.Attenuate(block).ToBase64();
        }

        using var key = KeyPair.FromPrivateKey(signer.ExportSeed(), Algorithm.Ed25519);
        var contents = biscuit.CreateThirdPartyRequest().CreateBlock(key, block);
        return biscuit.AppendThirdPartyBlock(contents).ToBase64();
    }

    private static void RequireForm(AipBlockForm form)
    {
        if (form is not (AipBlockForm.Standard or AipBlockForm.Attested))
        {
            throw new ArgumentException($"Unknown block form {form}.", nameof(form));
        }
    }

    private static AipIdentifier RequireIdentifier(string id, string parameter) =>
        AipIdentifier.TryParse(id, out var parsed) ? parsed : throw new ArgumentException($"'{id}' is not an AIP identifier.", parameter);

    private static void RequireScopes(IReadOnlyList<string> scopes, string parameter)
    {
        if (scopes is null || scopes.Count is 0 or > Compact.CompactToken.MaxScopes || !scopes.All(AipScope.IsValid))
        {
            throw new ArgumentException($"Give 1 to {Compact.CompactToken.MaxScopes} valid scopes.", parameter);
        }
    }

    private static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeSeconds(t.ToUnixTimeSeconds());
}

/// <summary>The effective state after walking a chain: holder, scopes, budget, expiry. No validation beyond reading.</summary>
internal sealed record ChainState(string Holder, IReadOnlyList<string> Scopes, long? BudgetCents, DateTimeOffset ExpiresAt)
{
    public static ChainState Walk(AipChainModel model)
    {
        var state = new ChainState(model.Authority.Subject ?? model.Authority.Identity, model.Authority.Scopes, model.Authority.BudgetCents, model.Authority.ExpiresAt);
        foreach (var d in model.Delegations)
        {
            state = new ChainState(
                d.Delegate,
                d.Scopes,
                d.BudgetCents is { } b && (state.BudgetCents is null || b < state.BudgetCents) ? b : state.BudgetCents,
                d.ExpiresAt is { } e && e < state.ExpiresAt ? e : state.ExpiresAt);
        }

        return state;
    }
}
