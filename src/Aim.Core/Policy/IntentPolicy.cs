namespace Aim.Policy;

/// <summary>Where step 5 answers step-up and deny for one risk level: scores at or above <see cref="StepUpAt"/> go to a human, at or above <see cref="DenyAt"/> are denied.</summary>
/// <param name="StepUpAt">The malicious probability from which the action is stepped up to a JIT approval (0 to 1).</param>
/// <param name="DenyAt">The malicious probability from which the action is denied (0 to 1, at least <paramref name="StepUpAt"/>).</param>
public sealed record IntentCutPoints(double StepUpAt, double DenyAt);

/// <summary>
/// An agent's own step-5 thresholds per risk level (policy file member <c>intent</c>: <c>{"high": {"stepUpAt", "denyAt"},
/// "critical": {...}}</c>); a level left out keeps the intent check's default. They apply to the first-stage score.
/// </summary>
/// <param name="High">Cut points for high-risk actions, or null for the check's default.</param>
/// <param name="Critical">Cut points for critical actions, or null for the check's default.</param>
public sealed record IntentPolicy(IntentCutPoints? High, IntentCutPoints? Critical)
{
    /// <summary>The cut points for a risk level, or null for the check's default.</summary>
    public IntentCutPoints? For(RiskLevel risk) => risk switch
    {
        RiskLevel.High => High,
        RiskLevel.Critical => Critical,
        _ => null,
    };
}
