namespace Aim;

/// <summary>
/// Marks a method as a privileged agent action. Every call of it is intercepted at compile time and
/// runs the Aim call path: classify risk, authorize, (approve), run, sign and audit.
/// </summary>
/// <remarks>
/// Interception covers ordinary call sites in code compiled with the Aim.Sdk package. Calls through a
/// delegate, method group, expression tree or reflection are not intercepted (analyzer AIM005 warns);
/// framework front doors (MCP, Microsoft.Extensions.AI, Semantic Kernel, ASP.NET Core) use the
/// generated catalog instead.
/// </remarks>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class SecureActionAttribute : Attribute
{
    /// <summary>Declares the capability (<c>namespace:action</c>, for example <c>payment:refund</c>) the action needs.</summary>
    public SecureActionAttribute(string capability)
    {
        Capability = capability;
    }

    /// <summary>The capability the agent must hold, <c>namespace:action</c>.</summary>
    public string Capability { get; }

    /// <summary>The resource the action touches (matched against resource patterns in grants), if any.</summary>
    public string? Resource { get; set; }

    /// <summary>The declared risk. <see cref="Aim.RiskLevel.Auto"/> (the default) uses the detected level.</summary>
    public RiskLevel RiskLevel { get; set; } = RiskLevel.Auto;

    /// <summary>When true, each call waits for a human approval (just-in-time access) before it runs.</summary>
    public bool JitAccess { get; set; }

    /// <summary>How long a JIT approval may take before the call fails with <see cref="ApprovalTimeoutException"/>.</summary>
    public int JitTimeoutSeconds { get; set; } = ActionDescriptor.DefaultJitTimeoutSeconds;

    /// <summary>Store the raw arguments in the audit log (by default only their digest is stored).</summary>
    public bool LogArguments { get; set; }

    /// <summary>Store the raw result in the audit log.</summary>
    public bool LogResult { get; set; }

    /// <summary>What the action does, for approvers, audit readers and the intent check.</summary>
    public string? Description { get; set; }

    /// <summary>
    /// What one call costs in US dollars (an estimate the developer declares, for example a paid API's price). An allowed
    /// call is charged against the agent's budget (policy file <c>budget</c>); a call that would exceed it is denied with
    /// <c>budget_exceeded</c> before its body runs. 0 (the default) is free.
    /// </summary>
    public double CostUsd { get; set; }
}
