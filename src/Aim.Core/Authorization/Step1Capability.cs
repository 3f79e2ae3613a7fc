using Aim.Policy;

namespace Aim.Authorization;

/// <summary>
/// Step 1: is the capability granted to the agent, and for the resource the action names? Grants are
/// <c>namespace:action</c> patterns (<c>db:read</c>, <c>db:*</c>, <c>*</c>) with optional resource patterns after
/// <c>@</c> (<c>db:read@users_*</c>). Denies with <c>capability_not_granted</c> or <c>resource_not_granted</c>.
/// </summary>
public static class CapabilityStep
{
    /// <summary>Checks the request against the policy's grants.</summary>
    public static PolicyDecision Check(AgentPolicy policy, ActionRequest request) =>
        policy.CheckCapability(request.Capability, request.Resource);
}
