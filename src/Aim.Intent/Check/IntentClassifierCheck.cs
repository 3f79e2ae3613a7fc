using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Authorization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim.Intent.Check;

/// <summary>
/// Step 5 of the call path: classifies what an action is about to do. Low risk: skipped. Medium:
/// allowed at once and classified in the background (a finding raises a <see cref="SecurityAlert"/>).
/// High and critical: classified before the action runs; a non-benign verdict whose malicious
/// probability reaches <see cref="IntentCheckOptions.Threshold"/> is denied with reason code
/// <c>intent_flagged</c> and the class, confidence and evidence in the step details (which the audit
/// entry records). A classifier that times out or throws follows the risk level's
/// <see cref="IntentFailMode"/>: closed denies with <c>intent_unavailable</c>, open allows and alerts.
/// </summary>
public sealed class IntentClassifierCheck : IIntentCheck
{
    /// <summary>The reason code of a flagged action.</summary>
    public const string FlaggedReasonCode = "intent_flagged";

    /// <summary>The reason code of a fail-closed denial (classifier slow or failing).</summary>
    public const string UnavailableReasonCode = "intent_unavailable";

    private readonly IIntentClassifier classifier;
    private readonly IntentCheckOptions options;
    private readonly ISecurityAlertSink sink;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly HashSet<Task> pending = [];
    private readonly Lock pendingGate = new();
    private long skippedBackgroundChecks;

    /// <summary>Creates the step.</summary>
    /// <param name="classifier">The classifier; <see langword="null"/> for <see cref="IntentClassifier.Default"/> (the embedded model).</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults. Read once: later changes are ignored.</param>
    /// <param name="alerts">Where alerts go; <see langword="null"/> for a new <see cref="InMemorySecurityAlertLog"/> (see <see cref="Alerts"/>).</param>
    /// <param name="timeProvider">The clock for alert times and the budget; <see langword="null"/> for the system clock.</param>
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
        this.options = new IntentCheckOptions
        {
            Threshold = options.Threshold,
            Budget = options.Budget,
            HighFailMode = options.HighFailMode,
            CriticalFailMode = options.CriticalFailMode,
            MaxEvidence = options.MaxEvidence,
            EvidenceIncludesArgumentValues = options.EvidenceIncludesArgumentValues,
            MaxPendingBackgroundChecks = options.MaxPendingBackgroundChecks,
        };
        this.classifier = classifier ?? IntentClassifier.Default;
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

            return ValueTask.FromResult(Decide(request, verdict, text, ranges));
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

        return Decide(request, verdict, text, ranges);
    }

    private StepResult Decide(ActionRequest request, IntentVerdict verdict, string text, List<ArgumentRange>? ranges)
    {
        if (!verdict.IsFlagged(options.Threshold))
        {
            return StepResult.Allow;
        }

        verdict = Redact(verdict, text, ranges);
        var label = verdict.AttackClassName;
        Raise(new SecurityAlert(time.GetUtcNow(), SecurityAlertKind.IntentFlagged, request.Agent.Id.ToString(), request.Agent.Name, request.ActionId,
            request.Capability.Value, request.Risk, Blocked: true, verdict,
            $"'{request.Capability.Value}' read like {label} ({verdict.MaliciousProbability:0.00}) and was blocked."));
        return StepResult.Deny(
            FlaggedReasonCode,
            string.Create(CultureInfo.InvariantCulture, $"The action reads like {label} (malicious probability {verdict.MaliciousProbability:0.00}, threshold {options.Threshold:0.00})."),
            Details(verdict));
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

        if (verdict.IsFlagged(options.Threshold))
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

    private static JsonObject Details(IntentVerdict verdict)
    {
        var evidence = new JsonArray();
        foreach (var item in verdict.Evidence)
        {
            evidence.Add(new JsonObject { ["text"] = item.Text, ["weight"] = Math.Round(item.Weight, 4) });
        }

        return new JsonObject
        {
            ["class"] = verdict.AttackClassName,
            ["confidence"] = Math.Round(verdict.Confidence, 4),
            ["malicious_probability"] = Math.Round(verdict.MaliciousProbability, 4),
            ["evidence"] = evidence,
        };
    }
}
