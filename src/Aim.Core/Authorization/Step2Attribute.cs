using Aim.Policy;

namespace Aim.Authorization;

/// <summary>
/// Step 2: attribute-based checks. Every attribute the policy requires must be present in
/// <see cref="ActionRequest.Attributes"/> with one of its accepted values (ordinal comparison); otherwise
/// <c>attribute_mismatch</c>. The embedded engine supplies <c>AimOptions.Attributes</c>; the server uses the attributes
/// the agent sent with its signed request.
/// </summary>
public static class AttributeStep
{
    /// <summary>Checks the request's attributes against the policy.</summary>
    public static PolicyDecision Check(AgentPolicy policy, ActionRequest request) =>
        policy.CheckAttributes(request.Attributes);
}
