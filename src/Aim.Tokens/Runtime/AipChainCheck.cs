using System.Text.Json.Nodes;
using Aim.Authorization;
using Aim.Tokens.Verification;

namespace Aim.Tokens.Runtime;

/// <summary>
/// Step 4 of the Aim call path: the delegation token an action runs under must verify (V1-V7), name the acting agent as
/// its holder, and allow the action's capability (an AIP scope equal to the capability string, or a <c>ns:*</c> pattern).
/// Set it with <c>o.ChainCheck = new AipChainCheck(verifier)</c>. Never throws for a bad token: it denies with the AIP code
/// as the reason code.
/// </summary>
public sealed class AipChainCheck : IChainCheck
{
    private readonly AipVerifier _verifier;
    private readonly bool _requireHolder;

    /// <summary>Creates the check.</summary>
    /// <param name="verifier">The verifier (with the trusted roots).</param>
    /// <param name="requireHolderIsAgent">When true (default), the token's holder (last delegate or <c>sub</c>) must be the acting agent.</param>
    public AipChainCheck(AipVerifier verifier, bool requireHolderIsAgent = true)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        _verifier = verifier;
        _requireHolder = requireHolderIsAgent;
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
            var verified = await _verifier.VerifyAsync(request.DelegationToken, new AipAccessRequest(request.Capability.Value), cancellationToken).ConfigureAwait(false);
            if (_requireHolder && !string.Equals(verified.Subject, request.Agent.AipId, StringComparison.Ordinal))
            {
                return Deny(new AipException(AipErrorCodes.ScopeInsufficient, $"The delegation token belongs to {verified.Subject}, not to this agent."));
            }

            return StepResult.Allow;
        }
        catch (AipException ex)
        {
            return Deny(ex);
        }
    }

    private static StepResult Deny(AipException ex) =>
        StepResult.Deny(ex.Code, ex.Message, new JsonObject { ["aip_code"] = ex.Code, ["http_status"] = ex.HttpStatus });
}
