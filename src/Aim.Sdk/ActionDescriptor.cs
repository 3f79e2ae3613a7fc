using Aim.Capabilities;

namespace Aim;

/// <summary>
/// Everything Aim knows about one secured action, independent of how it is called. The source
/// generator emits one static instance per <c>[SecureAction]</c> method; other front doors (MCP,
/// AI functions, endpoints) find the same instances in the generated catalog.
/// </summary>
public sealed class ActionDescriptor
{
    /// <summary>The JIT approval timeout used when none is declared.</summary>
    public const int DefaultJitTimeoutSeconds = 300;

    private static readonly string[] NoParameters = [];

    /// <summary>Creates a descriptor. The capability is validated here, so a malformed one fails closed at first use.</summary>
    /// <param name="capability">The <c>namespace:action</c> capability.</param>
    /// <param name="resource">The resource touched, if any.</param>
    /// <param name="declaredRisk">The declared risk; <see cref="RiskLevel.Auto"/> to detect it.</param>
    /// <param name="jitAccess">Whether every call needs a human approval.</param>
    /// <param name="jitTimeoutSeconds">How long to wait for that approval.</param>
    /// <param name="logArguments">Store raw arguments in the audit log.</param>
    /// <param name="logResult">Store the raw result in the audit log.</param>
    /// <param name="description">What the action does.</param>
    /// <param name="method">The method's identity, for example <c>Shop.RefundAgent.RefundAsync(string, decimal)</c>.</param>
    /// <param name="parameterNames">The parameter names, in the order arguments are passed.</param>
    /// <param name="costUsd">What one call costs in US dollars, charged against the agent's budget (0: free).</param>
    /// <exception cref="CapabilityFormatException">The capability is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="costUsd"/> is negative or not a finite number.</exception>
    public ActionDescriptor(
        string capability,
        string? resource = null,
        RiskLevel declaredRisk = RiskLevel.Auto,
        bool jitAccess = false,
        int jitTimeoutSeconds = DefaultJitTimeoutSeconds,
        bool logArguments = false,
        bool logResult = false,
        string? description = null,
        string? method = null,
        string[]? parameterNames = null,
        double costUsd = 0)
    {
        if (!double.IsFinite(costUsd) || costUsd < 0 || costUsd > 1e12)
        {
            throw new ArgumentOutOfRangeException(nameof(costUsd), costUsd, "A cost is a finite, non-negative amount of US dollars.");
        }

        Capability = Capability.Parse(capability);
        Resource = resource;
        DeclaredRisk = declaredRisk;
        var assessment = RiskClassifier.Classify(capability);
        DetectedRisk = assessment.Level;
        EffectiveRisk = declaredRisk == RiskLevel.Auto ? DetectedRisk : declaredRisk;
        JitAccess = jitAccess;
        JitTimeout = TimeSpan.FromSeconds(jitTimeoutSeconds > 0 ? jitTimeoutSeconds : DefaultJitTimeoutSeconds);
        LogArguments = logArguments;
        LogResult = logResult;
        Description = description;
        Method = method ?? capability;
        ParameterNames = parameterNames ?? NoParameters;
        CostUsd = (decimal)costUsd;
    }

    /// <summary>What one call costs in US dollars, charged against the agent's budget when it is allowed (0: free).</summary>
    public decimal CostUsd { get; }

    /// <summary>The capability the agent must hold.</summary>
    public Capability Capability { get; }

    /// <summary>The capability as text.</summary>
    public string CapabilityName => Capability.Value;

    /// <summary>The resource touched, if any.</summary>
    public string? Resource { get; }

    /// <summary>The risk the developer declared (<see cref="RiskLevel.Auto"/> when none).</summary>
    public RiskLevel DeclaredRisk { get; }

    /// <summary>The risk the classifier detects from the capability alone.</summary>
    public RiskLevel DetectedRisk { get; }

    /// <summary>The risk the call path uses: the declared level when set, otherwise the detected one.</summary>
    public RiskLevel EffectiveRisk { get; }

    /// <summary>Whether each call waits for a human approval.</summary>
    public bool JitAccess { get; }

    /// <summary>How long a JIT approval may take.</summary>
    public TimeSpan JitTimeout { get; }

    /// <summary>Whether raw arguments go into the audit log.</summary>
    public bool LogArguments { get; }

    /// <summary>Whether the raw result goes into the audit log.</summary>
    public bool LogResult { get; }

    /// <summary>What the action does.</summary>
    public string? Description { get; }

    /// <summary>The method's identity.</summary>
    public string Method { get; }

    /// <summary>Parameter names in argument order.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Method} [{CapabilityName}, {EffectiveRisk}{(JitAccess ? ", JIT" : string.Empty)}]";
}
