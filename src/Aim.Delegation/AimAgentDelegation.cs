using Aim.Identity;
using Aim.Tokens.Chained;
using Aim.Tokens.Http;
using Aim.Tokens.Verification;

namespace Aim.Tokens.Runtime;

/// <summary>
/// Delegation from an <see cref="AimAgent"/>. It lives in Aim.Delegation, which references both Aim.Sdk and
/// Aim.Tokens (neither references the other), so the runtime stays free of Biscuit; users who delegate reference Aim.Delegation and set <c>o.ChainCheck = new AipChainCheck(verifier)</c>.
/// </summary>
public static class AimAgentDelegation
{
    /// <summary>How many further hops a chain minted by <see cref="Delegate(AimAgent, string, IEnumerable{string}, decimal?, TimeSpan, string)"/> allows when it starts a new chain.</summary>
    public const int DefaultMaxDepth = 3;

    /// <summary>
    /// Hands a narrower slice of this agent's authority to <paramref name="to"/>. When the agent runs under a chained
    /// token it holds (<see cref="AimDelegation.CurrentToken"/>), a delegation block is appended to it; otherwise the agent
    /// starts a new chain as its root and delegates from it. The agent's key comes from its key store (<c>AIM_HOME</c> or
    /// <see cref="AimOptions.Home"/>).
    /// </summary>
    /// <param name="agent">The delegating agent.</param>
    /// <param name="to">The receiver's AIP identifier.</param>
    /// <param name="scopes">The delegated scopes (capabilities such as <c>db:read</c>, or <c>db:*</c>).</param>
    /// <param name="budgetUsd">A budget in USD (whole cents), or null.</param>
    /// <param name="ttl">How long the delegation lives (capped by the parent's expiry).</param>
    /// <param name="context">Why (required, non-empty).</param>
    /// <returns>The chained token for the receiver.</returns>
    /// <exception cref="AipException">The delegation would widen scope, budget or expiry, exceed the depth, the context is
    /// empty, or the ambient token is not held by this agent.</exception>
    /// <exception cref="KeyStoreException">The agent's key cannot be loaded.</exception>
    public static string Delegate(this AimAgent agent, string to, IEnumerable<string> scopes, decimal? budgetUsd, TimeSpan ttl, string context) =>
        Delegate(agent, to, scopes, budgetUsd, ttl, context, AipBlockForm.Standard);

    /// <summary>
    /// Like <see cref="Delegate(AimAgent, string, IEnumerable{string}, decimal?, TimeSpan, string)"/>, choosing how the
    /// delegation block is written: an ordinary appended block (<see cref="AipBlockForm.Standard"/>, the AIP form) or a
    /// third-party block signed with this agent's key (<see cref="AipBlockForm.Attested"/>, proves who delegated).
    /// </summary>
    /// <exception cref="AipException">As the other overload.</exception>
    /// <exception cref="KeyStoreException">The agent's key cannot be loaded.</exception>
    /// <exception cref="ArgumentException">An unknown <paramref name="form"/>.</exception>
    public static string Delegate(this AimAgent agent, string to, IEnumerable<string> scopes, decimal? budgetUsd, TimeSpan ttl, string context, AipBlockForm form)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(scopes);
        var scopeList = scopes.ToList();
        var now = agent.Options.TimeProvider.GetUtcNow();
        using var key = new AgentKeyStore(agent.Options.Home ?? AgentKeyStore.DefaultHome()).Load(agent.Name);
        if (!key.Identity.PublicKey.Span.SequenceEqual(agent.Identity.PublicKey.Span))
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, "The key store holds another key for this agent.");
        }

        var expires = now + ttl;
        var parent = AimDelegation.CurrentToken;
        if (parent is null || !ChainedToken.LooksChained(parent))
        {
            parent = ChainedToken.Create(key.KeyPair, new AipAuthority(agent.AipId, scopeList, DefaultMaxDepth, expires, budgetUsd));
        }
        else
        {
            // Keep the parent's expiry when it is earlier than now + ttl: a delegation never outlives its parent.
            var current = ChainState.Walk(AipChainModel.Read(ChainedToken.ParseUnverified(parent)));
            if (current.ExpiresAt < expires)
            {
                expires = current.ExpiresAt;
            }
        }

        return ChainedToken.Delegate(parent, key.KeyPair, new AipDelegation(to, scopeList, context, budgetUsd, expires), form);
    }

    /// <summary>Sets step 4 of the call path to AIP verification with the given verifier.</summary>
    public static AimOptions UseAipChainCheck(this AimOptions options, AipVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ChainCheck = new AipChainCheck(verifier);
        return options;
    }

    /// <summary>An <see cref="AipTokenHandler"/> that attaches the ambient <see cref="AimDelegation.CurrentToken"/>.</summary>
    public static AipTokenHandler CreateAmbientTokenHandler() => new(() => AimDelegation.CurrentToken);
}
