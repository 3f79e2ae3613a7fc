using Aim.Capabilities;
using Aim.Policy;

namespace Aim.Engine;

/// <summary>Builds the embedded engine's policy: the agent's entry in the policy file (if any) plus the grants and limits given in code.</summary>
internal static class EmbeddedPolicy
{
    public static AgentPolicy Build(AimOptions options)
    {
        var builder = new AgentPolicy.Builder(options.AgentName);
        try
        {
            if (options.PolicyFile is not null)
            {
                builder.Include(AgentPolicySet.Load(options.PolicyFile).For(options.AgentName));
            }

            foreach (var grant in options.Grants)
            {
                builder.Grant(CapabilityGrant.Parse(grant));
            }

            foreach (var limit in options.RateLimits)
            {
                builder.RateLimit(limit.CapabilityPattern, limit.Limit, limit.Per);
            }

            if (options.BudgetLimit is { } budgetLimit)
            {
                builder.Budget(budgetLimit.LimitUsd, budgetLimit.Per);
            }

            return builder.Build();
        }
        catch (CapabilityFormatException ex)
        {
            throw new AimConfigurationException($"Invalid grant for agent '{options.AgentName}': {ex.Message}", ex);
        }
    }
}
