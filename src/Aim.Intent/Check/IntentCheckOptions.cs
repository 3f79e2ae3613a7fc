namespace Aim.Intent.Check;

/// <summary>What the intent step does when the classifier is too slow or throws.</summary>
public enum IntentFailMode
{
    /// <summary>Deny the action (reason code <c>intent_unavailable</c>).</summary>
    Closed = 0,

    /// <summary>Let the action through and raise a security alert.</summary>
    Open = 1,
}

/// <summary>Settings of <see cref="IntentClassifierCheck"/>.</summary>
public sealed class IntentCheckOptions
{
    /// <summary>
    /// The malicious probability (1 - P(benign)) at or above which a non-benign verdict blocks a high or
    /// critical action, or raises an alert for a medium one. 0..1; default 0.8.
    /// </summary>
    public float Threshold { get; set; } = 0.8f;

    /// <summary>
    /// How long a high or critical action waits for a classifier that runs off the calling thread
    /// (any <see cref="IIntentClassifier"/> other than the built-in one, which is bounded by its input cap and
    /// runs inline). Default 5 ms.
    /// </summary>
    public TimeSpan Budget { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>What a high-risk action does when classification times out or fails. Default <see cref="IntentFailMode.Open"/> (with an alert).</summary>
    public IntentFailMode HighFailMode { get; set; } = IntentFailMode.Open;

    /// <summary>What a critical action does when classification times out or fails. Default <see cref="IntentFailMode.Closed"/>.</summary>
    public IntentFailMode CriticalFailMode { get; set; } = IntentFailMode.Closed;

    /// <summary>How many evidence items a verdict carries into the audit details and alerts. Default 5.</summary>
    public int MaxEvidence { get; set; } = IntentVerdict.DefaultEvidenceCount;

    /// <summary>
    /// Whether evidence may quote argument values. Default <see langword="false"/>: evidence that falls inside
    /// an argument value is reported as <c>&lt;name value&gt;</c>, because audit entries must not carry values
    /// unless the action opts in to logging them.
    /// </summary>
    public bool EvidenceIncludesArgumentValues { get; set; }

    /// <summary>The most medium-risk classifications queued in the background; beyond it new ones are skipped and counted. Default 256.</summary>
    public int MaxPendingBackgroundChecks { get; set; } = 256;

    /// <summary>The fail mode for a risk level (medium and below never block).</summary>
    public IntentFailMode FailModeFor(RiskLevel risk) => risk switch
    {
        RiskLevel.Critical => CriticalFailMode,
        RiskLevel.High => HighFailMode,
        _ => IntentFailMode.Open,
    };

    /// <summary>Checks the settings.</summary>
    /// <exception cref="AimConfigurationException">A setting is out of range.</exception>
    public void Validate()
    {
        if (!(Threshold is >= 0f and <= 1f))
        {
            throw new AimConfigurationException($"Intent threshold must be within 0..1, got {Threshold}.");
        }

        if (Budget <= TimeSpan.Zero || Budget > TimeSpan.FromMinutes(1))
        {
            throw new AimConfigurationException($"Intent budget must be positive and at most a minute, got {Budget}.");
        }

        if (MaxEvidence is < 0 or > 32)
        {
            throw new AimConfigurationException($"Intent evidence count must be within 0..32, got {MaxEvidence}.");
        }

        if (MaxPendingBackgroundChecks < 1)
        {
            throw new AimConfigurationException("At least one background intent check must be allowed.");
        }

        if (!Enum.IsDefined(HighFailMode) || !Enum.IsDefined(CriticalFailMode))
        {
            throw new AimConfigurationException("Unknown intent fail mode.");
        }
    }
}
