using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Authorization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim.Intent.Check;

/// <summary>
/// Step 5 of the call path: classifies what an action is about to do. Low risk: skipped. Medium:
/// allowed at once and classified in the background (a score at or above
/// <see cref="IntentCheckOptions.MediumAlertThreshold"/> raises a <see cref="SecurityAlert"/>).
/// High and critical: classified before the action runs, with three outcomes from the risk level's
/// <see cref="IntentThresholds"/>: allow, step up (the action waits for a JIT approval whose approver sees
/// the class, score and evidence; reason code <c>intent_uncertain</c>) or deny (<c>intent_flagged</c>).
/// When a second stage is configured it re-scores first-stage scores in its uncertainty band. Every
/// outcome carries <c>intent_outcome</c>, <c>intent_score</c>, <c>intent_stage</c> and <c>intent_model</c>
/// in its step details, which the audit entry records. A classifier that times out or throws follows the
/// risk level's <see cref="IntentFailMode"/>.
/// </summary>
public sealed class IntentClassifierCheck : IIntentCheck
{
    /// <summary>The reason code of a denied action (high-confidence verdict).</summary>
    public const string FlaggedReasonCode = "intent_flagged";

    /// <summary>The reason code of a stepped-up action (uncertain verdict: a human decides).</summary>
    public const string UncertainReasonCode = "intent_uncertain";

    /// <summary>The reason code of a fail-closed denial (classifier slow or failing).</summary>
    public const string UnavailableReasonCode = "intent_unavailable";

    /// <summary>The <c>intent_stage</c> detail of a decision made by the first (n-gram) stage.</summary>
    public const string FirstStageName = "ngram";

    /// <summary>The <c>intent_stage</c> detail of a decision made by the second stage.</summary>
    public const string SecondStageName = "second";

    private readonly IIntentClassifier classifier;
    private readonly IIntentSecondStage? secondStage;
    private readonly string firstStageVersion;
    private readonly IntentCheckOptions options;
    private readonly ISecurityAlertSink sink;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly HashSet<Task> pending = [];
    private readonly Lock pendingGate = new();
    private long skippedBackgroundChecks;

    /// <summary>Creates the step.</summary>
    /// <param name="classifier">The first-stage classifier; <see langword="null"/> for <see cref="IntentClassifier.Default"/> (the embedded model).</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults. Read once: later changes are ignored.</param>
    /// <param name="alerts">Where alerts go; <see langword="null"/> for a new <see cref="InMemorySecurityAlertLog"/> (see <see cref="Alerts"/>).</param>
    /// <param name="timeProvider">The clock for alert times and the budgets; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Receives classifier failures; optional.</param>
    /// <exception cref="AimConfigurationException">The options are invalid.</exception>
    /// <exception cref="IntentModelException">No classifier was given and the embedded model cannot be loaded.</exception>
    public IntentClassifierCheck(
        IIntentClassifier? classifier = null,
        IntentCheckOptions? options = null,
        ISecurityAlertSink? alerts = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null)
    {
        options ??= new IntentCheckOptions();
        options.Validate();
        this.options = options.Clone();
        this.classifier = classifier ?? IntentClassifier.Default;
        secondStage = this.options.SecondStage;
        firstStageVersion = this.classifier is IntentClassifier builtIn ? builtIn.Model.Version : this.classifier.GetType().Name;
        sink = alerts ?? new InMemorySecurityAlertLog();
        time = timeProvider ?? TimeProvider.System;
        this.logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Raised for every alert, after the sink has it.</summary>
    public event Action<SecurityAlert>? AlertRaised;

    /// <summary>The sink alerts go to (an <see cref="InMemorySecurityAlertLog"/> unless another was given).</summary>
    public ISecurityAlertSink Alerts => sink;

    /// <summary>Medium-risk checks skipped because <see cref="IntentCheckOptions.MaxPendingBackgroundChecks"/> were already queued.</summary>
    public long SkippedBackgroundChecks => Interlocked.Read(ref skippedBackgroundChecks);

    /// <inheritdoc />
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public ValueTask<StepResult> CheckAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Risk is RiskLevel.Auto or RiskLevel.Low)
        {
            return ValueTask.FromResult(StepResult.Allow);
        }

        var ranges = options.EvidenceIncludesArgumentValues ? null : new List<ArgumentRange>();
        var text = IntentText.Build(request.Capability.Value, request.Resource, request.Method, request.Description, request.ParameterNames, request.Arguments, ranges);
        if (request.Risk == RiskLevel.Medium)
        {
            StartBackground(request, text, ranges);
            return ValueTask.FromResult(StepResult.Allow);
        }

        // The built-in classifier is bounded by its input cap (well under a millisecond) and runs inline:
        // a hop to the thread pool could itself blow the budget on a busy 2-core host.
        if (classifier is IntentClassifier)
        {
            IntentVerdict verdict;
            try
            {
                verdict = classifier.Classify(text, options.MaxEvidence);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return ValueTask.FromResult(Unavailable(request, "failed", e));
            }

            return NeedsSecondStage(verdict)
                ? SecondOpinionAsync(request, verdict, text, ranges, cancellationToken)
                : ValueTask.FromResult(Decide(request, verdict, verdict.MaliciousProbability, FirstStageName, text, ranges));
        }

        return CheckOffThreadAsync(request, text, ranges, cancellationToken);
    }

    /// <summary>Waits until every background (medium-risk) classification queued so far has finished and raised its alerts.</summary>
    public async Task WhenBackgroundIdleAsync()
    {
        while (true)
        {
            Task[] snapshot;
            lock (pendingGate)
            {
                snapshot = [.. pending];
            }

            if (snapshot.Length == 0)
            {
                return;
            }

            await Task.WhenAll(snapshot).ConfigureAwait(false);
        }
    }

    private async ValueTask<StepResult> CheckOffThreadAsync(ActionRequest request, string text, List<ArgumentRange>? ranges, CancellationToken cancellationToken)
    {
        var work = Task.Run(() => classifier.Classify(text, options.MaxEvidence), CancellationToken.None);
        IntentVerdict verdict;
        try
        {
            verdict = await work.WaitAsync(options.Budget, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            ObserveLater(work);
            return Unavailable(request, "timed out", e);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ObserveLater(work);
            throw;
        }
        catch (Exception e)
        {
            return Unavailable(request, "failed", e);
        }

        return NeedsSecondStage(verdict)
            ? await SecondOpinionAsync(request, verdict, text, ranges, cancellationToken).ConfigureAwait(false)
            : Decide(request, verdict, verdict.MaliciousProbability, FirstStageName, text, ranges);
    }

    private bool NeedsSecondStage(IntentVerdict verdict) =>
        secondStage is not null && verdict.MaliciousProbability >= secondStage.UncertainFrom && verdict.MaliciousProbability <= secondStage.UncertainTo;

    private async ValueTask<StepResult> SecondOpinionAsync(ActionRequest request, IntentVerdict verdict, string text, List<ArgumentRange>? ranges, CancellationToken cancellationToken)
    {
        var stage = secondStage!;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var first = verdict.MaliciousProbability;
        var work = Task.Run(() => stage.Score(text, first, stop.Token), CancellationToken.None);
        float score;
        string? failure = null;
        Exception? error = null;
        try
        {
            score = await work.WaitAsync(options.SecondStageBudget, time, cancellationToken).ConfigureAwait(false);
            if (!(score is >= 0f and <= 1f))
            {
                throw IntentModelException.Model($"The second stage returned {score}, not a probability.");
            }
        }
        catch (TimeoutException e)
        {
            (failure, error, score) = ("timed out", e, first);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            ObserveLater(work);
            throw;
        }
        catch (Exception e)
        {
            (failure, error, score) = ("failed", e, first);
        }

        if (failure is null)
        {
            return Decide(request, verdict, score, SecondStageName, text, ranges, first);
        }

        await stop.CancelAsync().ConfigureAwait(false);
        ObserveLater(work);
        var mode = options.FailModeFor(request.Risk);
        logger.LogWarning(error, "The second intent stage {What} for {Capability} ({Risk}); failing {Mode}.", failure, request.Capability.Value, request.Risk, mode);
        if (mode == IntentFailMode.Closed)
        {
            return StepResult.Deny(
                UnavailableReasonCode,
                $"The second intent stage {failure} on an uncertain first-stage verdict and '{request.Capability.Value}' is {request.Risk} risk, which fails closed.",
                new JsonObject { ["intent_error"] = "second stage " + failure, ["intent_first_stage_score"] = Math.Round(first, 4), ["intent_model"] = firstStageVersion });
        }

        // Fail open on the second stage: the first stage's own outcome stands, and the gap is reported.
        Raise(new SecurityAlert(time.GetUtcNow(), SecurityAlertKind.IntentUnavailable, request.Agent.Id.ToString(), request.Agent.Name, request.ActionId,
            request.Capability.Value, request.Risk, Blocked: false, Verdict: null,
            $"The second intent stage {failure} for '{request.Capability.Value}'; the first stage decided (fail open)."));
        var result = Decide(request, verdict, first, FirstStageName, text, ranges);
        result.Details!["intent_error"] = "second stage " + failure;
        return result;
    }

    private StepResult Decide(ActionRequest request, IntentVerdict verdict, float score, string stage, string text, List<ArgumentRange>? ranges, float? firstStageScore = null)
    {
        // The agent's policy may set its own first-stage cut points for this risk level.
        var thresholds = stage != SecondStageName && request.IntentPolicy?.For(request.Risk) is { } own
            ? new IntentThresholds((float)own.StepUpAt, (float)own.DenyAt)
            : options.ThresholdsFor(request.Risk, stage == SecondStageName);
        var outcome = thresholds.Decide(score);
        var model = stage == SecondStageName ? firstStageVersion + "+" + secondStage!.Version : firstStageVersion;
        if (outcome == IntentOutcome.Allow)
        {
            return new StepResult(true, Details: Summary(outcome, score, stage, model, firstStageScore));
        }

        verdict = Redact(verdict, text, ranges);
        var label = verdict.AttackClassName;
        var details = Details(verdict, Summary(outcome, score, stage, model, firstStageScore));
        if (outcome == IntentOutcome.StepUp)
        {
            return StepResult.StepUp(
                UncertainReasonCode,
                string.Create(CultureInfo.InvariantCulture, $"The action may read like {label} (malicious probability {score:0.00}; step-up from {thresholds.StepUpAt:0.00}, denial from {thresholds.DenyAt:0.00}): a human decides."),
                details);
        }

        Raise(new SecurityAlert(time.GetUtcNow(), SecurityAlertKind.IntentFlagged, request.Agent.Id.ToString(), request.Agent.Name, request.ActionId,
            request.Capability.Value, request.Risk, Blocked: true, verdict,
            string.Create(CultureInfo.InvariantCulture, $"'{request.Capability.Value}' read like {label} ({score:0.00}) and was blocked.")));
        return StepResult.Deny(
            FlaggedReasonCode,
            string.Create(CultureInfo.InvariantCulture, $"The action reads like {label} (malicious probability {score:0.00}, denial from {thresholds.DenyAt:0.00})."),
            details);
    }

    private static JsonObject Summary(IntentOutcome outcome, float score, string stage, string model, float? firstStageScore)
    {
        var summary = new JsonObject
        {
            ["intent_outcome"] = outcome.ToWireName(),
            ["intent_score"] = Math.Round(score, 4),
            ["intent_stage"] = stage,
            ["intent_model"] = model,
        };
        if (firstStageScore is { } first)
        {
            summary["intent_first_stage_score"] = Math.Round(first, 4);
        }

        return summary;
    }

    private StepResult Unavailable(ActionRequest request, string what, Exception error)
    {
        var mode = options.FailModeFor(request.Risk);
        logger.LogWarning(error, "Intent classification {What} for {Capability} ({Risk}); failing {Mode}.", what, request.Capability.Value, request.Risk, mode);
        if (mode == IntentFailMode.Closed)
        {
            return StepResult.Deny(
                UnavailableReasonCode,
                $"The intent classifier {what} and '{request.Capability.Value}' is {request.Risk} risk, which fails closed.",
                new JsonObject { ["intent_error"] = what });
        }

        Raise(new SecurityAlert(time.GetUtcNow(), SecurityAlertKind.IntentUnavailable, request.Agent.Id.ToString(), request.Agent.Name, request.ActionId,
            request.Capability.Value, request.Risk, Blocked: false, Verdict: null,
            $"The intent classifier {what} for '{request.Capability.Value}'; the action was allowed (fail open)."));
        return StepResult.Allow;
    }

    private void StartBackground(ActionRequest request, string text, List<ArgumentRange>? ranges)
    {
        lock (pendingGate)
        {
            if (pending.Count >= options.MaxPendingBackgroundChecks)
            {
                Interlocked.Increment(ref skippedBackgroundChecks);
                return;
            }

            var task = Task.Run(() => ClassifyInBackground(request, text, ranges));
            pending.Add(task);
            _ = task.ContinueWith(
                done =>
                {
                    lock (pendingGate)
                    {
                        pending.Remove(done);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private void ClassifyInBackground(ActionRequest request, string text, List<ArgumentRange>? ranges)
    {
        IntentVerdict verdict;
        try
        {
            verdict = classifier.Classify(text, options.MaxEvidence);
        }
        catch (Exception e)
        {
            // The action already ran; all that is left to do is say the check could not be made.
            Unavailable(request, "failed", e);
            return;
        }

        if (verdict.IsFlagged(options.MediumAlertThreshold))
        {
            verdict = Redact(verdict, text, ranges);
            Raise(new SecurityAlert(time.GetUtcNow(), SecurityAlertKind.IntentFlagged, request.Agent.Id.ToString(), request.Agent.Name, request.ActionId,
                request.Capability.Value, request.Risk, Blocked: false, verdict,
                $"Medium-risk '{request.Capability.Value}' read like {verdict.AttackClassName} ({verdict.MaliciousProbability:0.00}); it was allowed and is reported."));
        }
    }

    private void Raise(SecurityAlert alert)
    {
        try
        {
            sink.Raise(alert);
            AlertRaised?.Invoke(alert);
        }
        catch (Exception e)
        {
            // An alert consumer must never change an authorization outcome.
            logger.LogError(e, "A security alert consumer threw.");
        }
    }

    private static void ObserveLater(Task task) => _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    // Evidence inside an argument value is replaced by the argument's name: values are not logged unless the action opts in.
    private static IntentVerdict Redact(IntentVerdict verdict, string text, List<ArgumentRange>? ranges)
    {
        if (ranges is null || ranges.Count == 0 || verdict.Evidence.Count == 0)
        {
            return verdict;
        }

        var evidence = new List<IntentEvidence>(verdict.Evidence.Count);
        foreach (var item in verdict.Evidence)
        {
            var end = item.Start + item.Text.Length;
            var inside = ranges.FindIndex(r => end > r.Start && item.Start < r.End);
            evidence.Add(inside < 0 ? item : item with { Text = $"<{ranges[inside].Name} value>" });
        }

        return verdict with { Evidence = evidence };
    }

    private static JsonObject Details(IntentVerdict verdict, JsonObject summary)
    {
        var evidence = new JsonArray();
        foreach (var item in verdict.Evidence)
        {
            evidence.Add(new JsonObject { ["text"] = item.Text, ["weight"] = Math.Round(item.Weight, 4) });
        }

        summary["class"] = verdict.AttackClassName;
        summary["confidence"] = Math.Round(verdict.Confidence, 4);
        summary["malicious_probability"] = Math.Round(verdict.MaliciousProbability, 4);
        summary["evidence"] = evidence;
        return summary;
    }
}
