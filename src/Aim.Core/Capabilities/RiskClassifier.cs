namespace Aim.Capabilities;

/// <summary>Which risk level applies to a capability, and the rule that decided it.</summary>
/// <param name="Level">The effective level (never <see cref="RiskLevel.Auto"/>).</param>
/// <param name="Rule">One of the <see cref="RiskClassifier"/> rule names.</param>
public readonly record struct RiskAssessment(RiskLevel Level, string Rule);

/// <summary>
/// Detects the risk of a capability from <see cref="RiskTables"/>. Rules, first match wins:
/// <list type="number">
/// <item><c>explicit</c>: a declared level other than <see cref="RiskLevel.Auto"/>.</item>
/// <item><c>specific</c>: the whole capability is in <see cref="RiskTables.Specific"/>.</item>
/// <item><c>max(namespace,action)</c>: both parts are known; the higher level.</item>
/// <item><c>namespace</c>: only the namespace is known.</item>
/// <item><c>action</c>: only the action is known. (The issue lists only "namespace level, then medium";
/// an unknown namespace with a known action such as <c>crm:delete</c> takes the action's level so that
/// destructive verbs are never downgraded to medium.)</item>
/// <item><c>default</c>: <see cref="RiskLevel.Medium"/>.</item>
/// </list>
/// Lookups are ordinal and case-sensitive (capabilities are lower-case); known entries allocate nothing.
/// </summary>
public static class RiskClassifier
{
    /// <summary>Rule name: the caller declared the level.</summary>
    public const string ExplicitRule = "explicit";

    /// <summary>Rule name: the specific-capability table decided.</summary>
    public const string SpecificRule = "specific";

    /// <summary>Rule name: both namespace and action are known; the higher level.</summary>
    public const string MaxRule = "max(namespace,action)";

    /// <summary>Rule name: only the namespace is known.</summary>
    public const string NamespaceRule = "namespace";

    /// <summary>Rule name: only the action is known.</summary>
    public const string ActionRule = "action";

    /// <summary>Rule name: nothing is known; medium.</summary>
    public const string DefaultRule = "default";

    /// <summary>Classifies a capability string (<c>namespace:action</c>; malformed text falls through to the tables it matches, usually <c>default</c>).</summary>
    /// <param name="capability">The capability, for example <c>payment:refund</c>.</param>
    /// <param name="declared">A level declared by the developer; anything but <see cref="RiskLevel.Auto"/> wins. An undefined enum value is treated as <see cref="RiskLevel.Critical"/> (fail closed).</param>
    public static RiskAssessment Classify(string capability, RiskLevel declared = RiskLevel.Auto)
    {
        if (declared != RiskLevel.Auto)
        {
            return new(declared is >= RiskLevel.Low and <= RiskLevel.Critical ? declared : RiskLevel.Critical, ExplicitRule);
        }

        if (string.IsNullOrEmpty(capability))
        {
            return new(RiskLevel.Medium, DefaultRule);
        }

        if (RiskTables.Specific.TryGetValue(capability, out var specific))
        {
            return new(specific, SpecificRule);
        }

        var text = capability.AsSpan();
        int colon = text.IndexOf(':');
        var ns = colon < 0 ? text : text[..colon];
        var action = colon < 0 ? [] : text[(colon + 1)..];

        bool nsKnown = RiskTables.NamespacesBySpan.TryGetValue(ns, out var nsLevel);
        var actionLevel = RiskLevel.Auto;
        bool actionKnown = !action.IsEmpty && RiskTables.ActionsBySpan.TryGetValue(action, out actionLevel);

        if (nsKnown && actionKnown)
        {
            return new(nsLevel > actionLevel ? nsLevel : actionLevel, MaxRule);
        }

        if (nsKnown)
        {
            return new(nsLevel, NamespaceRule);
        }

        if (actionKnown)
        {
            return new(actionLevel, ActionRule);
        }

        return new(RiskLevel.Medium, DefaultRule);
    }

    /// <summary>Classifies a parsed capability.</summary>
    public static RiskAssessment Classify(Capability capability, RiskLevel declared = RiskLevel.Auto)
    {
        ArgumentNullException.ThrowIfNull(capability);
        return Classify(capability.Value, declared);
    }
}
