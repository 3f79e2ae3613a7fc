using System.Text.Json.Nodes;
using Aim.Authorization;
using Aim.Tokens.Verification;

namespace Aim.Tokens.Runtime;

/// <summary>
/// Step 4 of the Aim call path: the delegation token an action runs under must verify (V1-V7), name the acting agent as
/// its holder, and allow the action's capability (an AIP scope equal to the capability string, or a <c>ns:*</c> pattern).
/// Set it with <c>o.ChainCheck = new AipChainCheck(verifier)</c>. Never throws for a bad token: it denies with the AIP code
/// as the reason code. A front door whose actions map to other scopes (the AIP gateway: <c>tool:&lt;name&gt;</c>) or that
/// sets limits of its own on tokens says so with <see cref="AipChainCheckOptions"/>.
/// </summary>
public sealed class AipChainCheck : IChainCheck
{
    private readonly AipVerifier _verifier;
    private readonly AipChainCheckOptions _options;

    /// <summary>Creates the check.</summary>
    /// <param name="verifier">The verifier (with the trusted roots).</param>
    /// <param name="requireHolderIsAgent">When true (default), the token's holder (last delegate or <c>sub</c>) must be the acting agent.</param>
    public AipChainCheck(AipVerifier verifier, bool requireHolderIsAgent = true)
        : this(verifier, new AipChainCheckOptions { RequireHolderIsAgent = requireHolderIsAgent })
    {
    }

    /// <summary>Creates the check with a front door's settings.</summary>
    /// <param name="verifier">The verifier (with the trusted roots).</param>
    /// <param name="options">Holder rule, the scopes an action needs, and further rules on a verified token.</param>
    public AipChainCheck(AipVerifier verifier, AipChainCheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(options);
        _verifier = verifier;
        _options = options;
    }

    /// <inheritdoc/>
    public async ValueTask<StepResult> CheckAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.DelegationToken is null)
        {
            return StepResult.Allow;
        }

        try
        {
            var scopes = _options.ScopesFor is { } scopesFor ? scopesFor(request) : null;
            string? first = scopes is null ? request.Capability.Value : scopes.Count > 0 ? scopes[0] : null;
            var verified = await _verifier.VerifyAsync(request.DelegationToken, first is null ? null : new AipAccessRequest(first), cancellationToken).ConfigureAwait(false);
            for (int i = 1; scopes is not null && i < scopes.Count; i++)
            {
                if (!verified.Allows(scopes[i]))
                {
                    return Deny(new AipException(AipErrorCodes.ScopeInsufficient, $"The token does not allow '{scopes[i]}'."));
                }
            }

            if (_options.RequireHolderIsAgent && !string.Equals(verified.Subject, request.Agent.AipId, StringComparison.Ordinal))
            {
                return Deny(new AipException(AipErrorCodes.ScopeInsufficient, $"The delegation token belongs to {verified.Subject}, not to this agent."));
            }

            if (_options.Accept?.Invoke(verified, request) is { } refused)
            {
                return Deny(refused);
            }

            return _options.RecordHolder
                ? new StepResult(true, Details: new JsonObject { ["aip_holder"] = verified.Subject, ["aip_issuer"] = verified.Issuer, ["aip_depth"] = verified.Depth })
                : StepResult.Allow;
        }
        catch (AipException ex)
        {
            return Deny(ex);
        }
    }

    private static StepResult Deny(AipException ex) =>
        StepResult.Deny(ex.Code, ex.Message, new JsonObject { ["aip_code"] = ex.Code, ["http_status"] = ex.HttpStatus });
}

/// <summary>Settings of an <see cref="AipChainCheck"/> for a front door whose actions are not plain capabilities.</summary>
public sealed class AipChainCheckOptions
{
    /// <summary>Whether the token's holder (last delegate or <c>sub</c>) must be the acting agent (default true). A front door
    /// that acts for its callers (an MCP server, the AIP gateway) turns it off: the caller holds the token.</summary>
    public bool RequireHolderIsAgent { get; init; } = true;

    /// <summary>
    /// The AIP scopes the token must allow for a request, every one of them (the first also feeds the Datalog policy of a
    /// chained token, V6). Null (default) means the action's capability; an empty list verifies the token without a scope
    /// check. The AIP gateway maps its <c>gateway:forward</c> action for a tool to <c>tool:&lt;name&gt;</c>.
    /// </summary>
    public Func<ActionRequest, IReadOnlyList<string>>? ScopesFor { get; init; }

    /// <summary>
    /// Further rules on a token that verified and allows the scopes (a front door's limits on depth, budget, lifetime or
    /// holder): null accepts; an <see cref="AipException"/> is the denial (its code is the reason code). Must not throw.
    /// </summary>
    public Func<AipVerifiedToken, ActionRequest, AipException?>? Accept { get; init; }

    /// <summary>When true, an allowed step carries the token's holder, root issuer and depth (<c>aip_holder</c>,
    /// <c>aip_issuer</c>, <c>aip_depth</c>) into the decision's details and so into the signed "authorized" record.</summary>
    public bool RecordHolder { get; init; }
}
