using System.Text.Json.Nodes;

namespace Aim.Authorization;

/// <summary>
/// Step 4: the delegation chain. When the call runs under a delegation token, an <see cref="IChainCheck"/> (AIP
/// verification V1-V7 against trusted roots, in Aim.Tokens) must accept it for the action's capability; its denial
/// carries the AIP error code (<c>aip_scope_insufficient</c>, <c>aip_token_expired</c>, ...). With no checker, a call under
/// a token is denied <c>chain_unverifiable</c>: nothing vouches for the token. A front door that demands a token
/// (<see cref="ActionRequest.RequireDelegation"/>) gets <c>aip_token_missing</c> when there is none.
/// </summary>
public static class ChainStep
{
    /// <summary>The reason code when a token cannot be verified because no verifier (or no trusted root) is configured.</summary>
    public const string Unverifiable = "chain_unverifiable";

    /// <summary>The reason code when a front door requires a token and the call carries none (the AIP code).</summary>
    public const string TokenMissing = "aip_token_missing";

    /// <summary>Whether the step has anything to do for this request.</summary>
    public static bool Applies(ActionRequest request) => request.DelegationToken is not null || request.RequireDelegation;

    /// <summary>Runs the step.</summary>
    public static ValueTask<StepResult> CheckAsync(IChainCheck? chain, ActionRequest request, CancellationToken cancellationToken)
    {
        if (request.DelegationToken is null)
        {
            return ValueTask.FromResult(request.RequireDelegation
                ? StepResult.Deny(TokenMissing, $"'{request.Capability}' requires a delegation token and the call carries none.",
                    new JsonObject { ["aip_code"] = TokenMissing, ["http_status"] = 401 })
                : StepResult.Allow);
        }

        return chain is null
            ? ValueTask.FromResult(StepResult.Deny(Unverifiable, "The action runs under a delegation token but nothing is configured to verify it."))
            : chain.CheckAsync(request, cancellationToken);
    }
}
