using Aim.Authorization;
using Aim.Tokens;
using Aim.Tokens.Identity;
using Aim.Tokens.Runtime;
using Aim.Tokens.Verification;

namespace Aim.Gateway;

/// <summary>
/// Step 4 of the gateway's call path: <see cref="AipChainCheck"/> with the gateway's trusted roots, the caller (not the
/// gateway) as the token's holder, the AIP scope of each action, and the config's token limits.
/// </summary>
internal static class GatewayTokenRules
{
    /// <summary>A verifier that trusts the config's roots.</summary>
    public static AipVerifier Verifier(GatewayConfig config, TimeProvider time) => new(new AipVerifierOptions
    {
        TrustStore = new InMemoryTrustStore([.. config.TrustedKeys]),
        TimeProvider = time,
    });

    /// <summary>The chain check of the gateway's runtime.</summary>
    public static AipChainCheck ChainCheck(GatewayConfig config, AipVerifier verifier) => new(verifier, new AipChainCheckOptions
    {
        RequireHolderIsAgent = false,
        ScopesFor = ScopesFor,
        Accept = (token, _) => Limits(config, token),
        RecordHolder = true,
    });

    /// <summary>
    /// The AIP scope an action needs: <c>tool:&lt;name&gt;</c> for <c>gateway:forward</c> of a tool call (its resource is that
    /// scope), none for <c>gateway:forward</c> of anything else (the token is verified only), the capability for a tool
    /// mapped to an action (as at every other front door).
    /// </summary>
    public static IReadOnlyList<string> ScopesFor(ActionRequest request)
    {
        if (request.Capability.Value != GatewayProxy.ForwardCapability)
        {
            return [request.Capability.Value];
        }

        return request.Resource is { } resource && resource.StartsWith(GatewayProxy.ToolResourcePrefix, StringComparison.Ordinal) ? [resource] : [];
    }

    /// <summary>The config's limits on a verified token (null: within them).</summary>
    public static AipException? Limits(GatewayConfig config, AipVerifiedToken verified)
    {
        if (config.MaxDepth is { } maxDepth && verified.Depth > maxDepth)
        {
            return new AipException(AipErrorCodes.DepthExceeded, $"The delegation depth {verified.Depth} exceeds the gateway's limit of {maxDepth}.");
        }

        if (config.MaxBudgetUsd is { } maxBudget && (verified.BudgetUsd is null || verified.BudgetUsd > maxBudget))
        {
            return new AipException(AipErrorCodes.BudgetExceeded, $"The token's budget exceeds the gateway's limit of {maxBudget} USD.");
        }

        if (config.MaxTtlSeconds is { } maxTtl && (verified.ExpiresAt - verified.IssuedAt).TotalSeconds > maxTtl)
        {
            return new AipException(AipErrorCodes.TokenExpired, $"The token's lifetime exceeds the gateway's limit of {maxTtl} seconds.");
        }

        return null;
    }
}
