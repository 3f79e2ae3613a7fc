using Aim.Capabilities;
using Aim.Identity;

namespace Aim.Authorization;

/// <summary>One attempt by an agent to run a secured action: the input of every authorization step.</summary>
public sealed record ActionRequest
{
    /// <summary>A unique id of this attempt; the audit entries of one action share it.</summary>
    public required string ActionId { get; init; }

    /// <summary>The agent that wants to act.</summary>
    public required AgentIdentity Agent { get; init; }

    /// <summary>The capability the action needs.</summary>
    public required Capability Capability { get; init; }

    /// <summary>The resource the action touches, if any.</summary>
    public string? Resource { get; init; }

    /// <summary>The effective risk of the action.</summary>
    public required RiskLevel Risk { get; init; }

    /// <summary>Whether a human must approve this call.</summary>
    public bool JitAccess { get; init; }

    /// <summary>How long an approval may take.</summary>
    public TimeSpan JitTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The method's identity.</summary>
    public string Method { get; init; } = string.Empty;

    /// <summary>What the action does.</summary>
    public string? Description { get; init; }

    /// <summary>Parameter names, in argument order.</summary>
    public IReadOnlyList<string> ParameterNames { get; init; } = [];

    /// <summary>Argument values (for policy and intent checks; never logged unless the action opts in).</summary>
    public IReadOnlyList<object?> Arguments { get; init; } = [];

    /// <summary>Attributes of the agent and its environment, for attribute-based checks.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = EmptyAttributes;

    /// <summary>The delegation token the action runs under, if any (checked by step 4).</summary>
    public string? DelegationToken { get; init; }

    /// <summary>The agent's own step-5 thresholds from its policy (set by the pipeline before step 5), or null for the check's defaults.</summary>
    public Aim.Policy.IntentPolicy? IntentPolicy { get; init; }

    /// <summary>Whether the front door demands a delegation token (for example a protected MCP server): step 4 denies a call without one.</summary>
    public bool RequireDelegation { get; init; }

    /// <summary>What one call costs in US dollars, charged against the agent's budget when the action is allowed (0: free).</summary>
    public decimal CostUsd { get; init; }

    /// <summary>When the attempt was made.</summary>
    public required DateTimeOffset Time { get; init; }

    private static readonly IReadOnlyDictionary<string, string> EmptyAttributes = new Dictionary<string, string>();
}
