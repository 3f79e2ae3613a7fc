namespace Aim.Authorization;

/// <summary>
/// Step 5: the intent check for medium, high and critical actions (low-risk ones skip it). An <see cref="IIntentCheck"/>
/// (the classifier in Aim.Intent) answers allow, step up (<see cref="StepResult.StepUp"/>: the action goes to a human
/// approval that shows the evidence) or deny. With no check configured the step allows.
/// </summary>
public static class IntentStep
{
    /// <summary>Whether the step runs for this request.</summary>
    public static bool Applies(IIntentCheck? intent, ActionRequest request) => intent is not null && request.Risk >= RiskLevel.Medium;

    /// <summary>Runs the step.</summary>
    public static ValueTask<StepResult> CheckAsync(IIntentCheck intent, ActionRequest request, CancellationToken cancellationToken) =>
        intent.CheckAsync(request, cancellationToken);
}
