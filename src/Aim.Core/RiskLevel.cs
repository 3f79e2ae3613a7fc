namespace Aim;

/// <summary>How much harm an action can do. <see cref="Auto"/> lets the risk classifier decide.</summary>
public enum RiskLevel
{
    /// <summary>Detect the level from the capability (the default on <c>[SecureAction]</c>).</summary>
    Auto = 0,

    /// <summary>Reads and harmless lookups.</summary>
    Low = 1,

    /// <summary>Writes that can be undone.</summary>
    Medium = 2,

    /// <summary>Deletes, sends, executes: effects outside the agent.</summary>
    High = 3,

    /// <summary>Money, administration, destruction: needs a human in the loop.</summary>
    Critical = 4,
}
