namespace Aim.Intent.Check;

/// <summary>What the intent step does when the classifier is too slow or throws.</summary>
public enum IntentFailMode
{
    /// <summary>Deny the action (reason code <c>intent_unavailable</c>).</summary>
    Closed = 0,

    /// <summary>
    /// Let the action through and raise a security alert (when only the second stage failed, the first stage's outcome
    /// stands instead).
    /// </summary>
    Open = 1,
}

/// <summary>The three answers of the intent step for a high or critical action.</summary>
public enum IntentOutcome
{
    /// <summary>The action runs.</summary>
    Allow = 0,

    /// <summary>The verdict is uncertain: the action waits for a human approval, who sees the classifier's evidence.</summary>
    StepUp = 1,

    /// <summary>The action reads like an attack with high confidence and never runs.</summary>
    Deny = 2,
}

/// <summary>Wire names of <see cref="IntentOutcome"/> (audit details, CLI output).</summary>
public static class IntentOutcomes
{
    /// <summary>The wire name: <c>allow</c>, <c>step_up</c> or <c>deny</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined outcome.</exception>
    public static string ToWireName(this IntentOutcome outcome) => outcome switch
    {
        IntentOutcome.Allow => "allow",
        IntentOutcome.StepUp => "step_up",
        IntentOutcome.Deny => "deny",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Not a defined intent outcome."),
    };
}

/// <summary>
/// The two cut points of one risk level on the malicious probability p (1 - P(benign)): p &gt;= <see cref="DenyAt"/> denies,
/// p &gt;= <see cref="StepUpAt"/> steps up to a human approval, anything lower is allowed.
/// </summary>
/// <param name="StepUpAt">From this score on, the action needs a human approval. 0..1.</param>
/// <param name="DenyAt">From this score on, the action is denied. 0..1, at least <paramref name="StepUpAt"/>; 1 never denies below certainty.</param>
public sealed record IntentThresholds(float StepUpAt, float DenyAt)
{
    /// <summary>The outcome for a malicious probability.</summary>
    public IntentOutcome Decide(float maliciousProbability) =>
        maliciousProbability >= DenyAt ? IntentOutcome.Deny
        : maliciousProbability >= StepUpAt ? IntentOutcome.StepUp
        : IntentOutcome.Allow;

    internal void Validate(string level)
    {
        if (!(StepUpAt is >= 0f and <= 1f) || !(DenyAt is >= 0f and <= 1f) || DenyAt < StepUpAt)
        {
            throw new AimConfigurationException($"Intent thresholds for {level} must satisfy 0 <= StepUpAt <= DenyAt <= 1, got {StepUpAt} and {DenyAt}.");
        }
    }
}

/// <summary>Settings of <see cref="IntentClassifierCheck"/>. Defaults are documented in docs/intent.md with the figures they were chosen on.</summary>
public sealed class IntentCheckOptions
{
    /// <summary>The default cut points of high-risk actions on the first stage's score.</summary>
    public static IntentThresholds DefaultHigh { get; } = new(StepUpAt: 0.72f, DenyAt: 0.975f);

    /// <summary>The default cut points of critical actions on the first stage's score.</summary>
    public static IntentThresholds DefaultCritical { get; } = new(StepUpAt: 0.49f, DenyAt: 0.975f);

    /// <summary>The default cut points of high-risk actions on the second stage's (stacked) score.</summary>
    public static IntentThresholds DefaultSecondStageHigh { get; } = new(StepUpAt: 0.605f, DenyAt: 0.775f);

    /// <summary>The default cut points of critical actions on the second stage's (stacked) score.</summary>
    public static IntentThresholds DefaultSecondStageCritical { get; } = new(StepUpAt: 0.54f, DenyAt: 0.775f);

    /// <summary>Allow / step-up / deny cut points of high-risk actions on the first stage's score. Default <see cref="DefaultHigh"/>.</summary>
    public IntentThresholds High { get; set; } = DefaultHigh;

    /// <summary>Allow / step-up / deny cut points of critical actions on the first stage's score. Default <see cref="DefaultCritical"/>.</summary>
    public IntentThresholds Critical { get; set; } = DefaultCritical;

    /// <summary>
    /// Cut points of high-risk actions when the second stage decided: its stacked score is on its own scale (fitted by
    /// logistic regression on out-of-author scores, it rarely goes above 0.98), so it has its own. Default <see cref="DefaultSecondStageHigh"/>.
    /// </summary>
    public IntentThresholds SecondStageHigh { get; set; } = DefaultSecondStageHigh;

    /// <summary>Cut points of critical actions when the second stage decided. Default <see cref="DefaultSecondStageCritical"/>.</summary>
    public IntentThresholds SecondStageCritical { get; set; } = DefaultSecondStageCritical;

    /// <summary>
    /// The malicious probability at or above which a medium-risk action (allowed at once, classified in the background)
    /// raises a security alert. 0..1; default 0.8.
    /// </summary>
    public float MediumAlertThreshold { get; set; } = 0.8f;

    /// <summary>
    /// How long a high or critical action waits for a classifier that runs off the calling thread
    /// (any <see cref="IIntentClassifier"/> other than the built-in one, which is bounded by its input cap and
    /// runs inline). Default 5 ms.
    /// </summary>
    public TimeSpan Budget { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// The second stage (for example the ONNX sentence-embedding stage of <c>Aim.Intent.Onnx</c>); <see langword="null"/>
    /// (the default) runs the first stage only. It is consulted only for high and critical actions whose first-stage
    /// score lies in its <see cref="IIntentSecondStage.UncertainFrom"/>..<see cref="IIntentSecondStage.UncertainTo"/> band.
    /// </summary>
    public IIntentSecondStage? SecondStage { get; set; }

    /// <summary>
    /// How long a high or critical action waits for the second stage. Default 750 ms: step 5 may take up to 800 ms on
    /// high-risk actions, and a 256-token input took up to 545 ms (p99) on a heavily loaded 2-core host.
    /// </summary>
    public TimeSpan SecondStageBudget { get; set; } = TimeSpan.FromMilliseconds(750);

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

    /// <summary>The cut points for a high or critical action (critical for anything above high) and the stage that scored it.</summary>
    public IntentThresholds ThresholdsFor(RiskLevel risk, bool secondStage = false) => (risk == RiskLevel.High, secondStage) switch
    {
        (true, false) => High,
        (false, false) => Critical,
        (true, true) => SecondStageHigh,
        (false, true) => SecondStageCritical,
    };

    /// <summary>
    /// The outcome the default policy gives a malicious probability at a risk level, from the first or the second stage:
    /// low and medium are always allowed (medium is only reported).
    /// </summary>
    public static IntentOutcome DefaultOutcome(RiskLevel risk, float maliciousProbability, bool secondStage = false) =>
        risk is RiskLevel.High or RiskLevel.Critical
            ? new IntentCheckOptions().ThresholdsFor(risk, secondStage).Decide(maliciousProbability)
            : IntentOutcome.Allow;

    /// <summary>A copy (the check reads its options once).</summary>
    public IntentCheckOptions Clone() => (IntentCheckOptions)MemberwiseClone();

    /// <summary>Checks the settings.</summary>
    /// <exception cref="AimConfigurationException">A setting is out of range.</exception>
    public void Validate()
    {
        if (High is null || Critical is null || SecondStageHigh is null || SecondStageCritical is null)
        {
            throw new AimConfigurationException("Intent thresholds for high and critical actions (both stages) are required.");
        }

        High.Validate("high");
        Critical.Validate("critical");
        SecondStageHigh.Validate("high (second stage)");
        SecondStageCritical.Validate("critical (second stage)");
        if (!(MediumAlertThreshold is >= 0f and <= 1f))
        {
            throw new AimConfigurationException($"The medium-risk intent alert threshold must be within 0..1, got {MediumAlertThreshold}.");
        }

        if (Budget <= TimeSpan.Zero || Budget > TimeSpan.FromMinutes(1))
        {
            throw new AimConfigurationException($"Intent budget must be positive and at most a minute, got {Budget}.");
        }

        if (SecondStageBudget <= TimeSpan.Zero || SecondStageBudget > TimeSpan.FromMinutes(1))
        {
            throw new AimConfigurationException($"The second-stage intent budget must be positive and at most a minute, got {SecondStageBudget}.");
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

        if (SecondStage is { } stage && !(stage.UncertainFrom is >= 0f and <= 1f && stage.UncertainTo is >= 0f and <= 1f && stage.UncertainFrom <= stage.UncertainTo))
        {
            throw new AimConfigurationException($"The second stage's uncertainty band must lie within 0..1, got {stage.UncertainFrom}..{stage.UncertainTo}.");
        }
    }
}
