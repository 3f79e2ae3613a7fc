using System.Diagnostics;
using System.Diagnostics.Metrics;
using Aim.Authorization;

namespace Aim;

/// <summary>
/// Aim's <see cref="System.Diagnostics.ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/>, both named
/// <see cref="Name"/> (<c>Aim</c>), and the names of their activities, instruments and tags. Subscribe with
/// OpenTelemetry (<c>AddSource("Aim")</c>, <c>AddMeter("Aim")</c>) or any <see cref="ActivityListener"/> /
/// <see cref="MeterListener"/>. Nothing here records arguments, results or keys.
/// </summary>
public static class AimTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "Aim";

    /// <summary>Activity: one secured action, from authorization to its outcome (its duration includes the body's run).</summary>
    public const string ActionActivity = "aim.action";

    /// <summary>Activity: the engine's decision for an action (the five steps and any JIT approval wait), a child of <see cref="ActionActivity"/>.</summary>
    public const string VerifyActivity = "aim.verify";

    /// <summary>Counter <c>{decision}</c>: every decision the call path reached, tagged <see cref="DecisionTag"/>, <see cref="StepTag"/> and <see cref="CapabilityTag"/>.</summary>
    public const string Decisions = "aim.decisions";

    /// <summary>Counter <c>{denial}</c>: denials, tagged <see cref="ReasonCodeTag"/>, <see cref="StepTag"/> and <see cref="CapabilityTag"/>.</summary>
    public const string Denials = "aim.denials";

    /// <summary>UpDownCounter <c>{approval}</c>: JIT approvals being waited for right now, tagged <see cref="EngineTag"/>.</summary>
    public const string ApprovalsWaiting = "aim.approvals.waiting";

    /// <summary>Histogram, seconds: time to append one audit record as the call path waits for it, tagged <see cref="AuditKindTag"/> and <see cref="EngineTag"/>.</summary>
    public const string AuditAppendDuration = "aim.audit.append.duration";

    /// <summary>Histogram, seconds: time the engine took to decide an action (approval waits included), tagged <see cref="DecisionTag"/> and <see cref="EngineTag"/>.</summary>
    public const string VerificationDuration = "aim.verification.duration";

    /// <summary>Tag: <c>allow</c>, <c>deny</c> or <c>unavailable</c> (the engine could not decide; the action did not run).</summary>
    public const string DecisionTag = "aim.decision";

    /// <summary>Tag: the step that decided: <c>capability</c>, <c>attribute</c>, <c>context</c>, <c>chain</c>, <c>intent</c>,
    /// <c>approval</c>, <c>pipeline</c> for a denial; <c>approval</c> (a human approved) or <c>policy</c> (every step passed) for an allow;
    /// <c>engine</c> when unavailable.</summary>
    public const string StepTag = "aim.step";

    /// <summary>Tag: the stable reason code of a denial (for example <c>capability_not_granted</c>, <c>aip_token_missing</c>).</summary>
    public const string ReasonCodeTag = "aim.reason_code";

    /// <summary>Tag: the action's capability (for example <c>db:read</c>).</summary>
    public const string CapabilityTag = "aim.capability";

    /// <summary>Tag: <c>embedded</c>, <c>remote</c> or <c>custom</c>.</summary>
    public const string EngineTag = "aim.engine";

    /// <summary>Tag: the audit record's kind: <c>authorized</c>, <c>denied</c> or <c>outcome</c>.</summary>
    public const string AuditKindTag = "aim.audit.kind";

    /// <summary>Activity tag: the action's outcome: <c>success</c>, <c>error</c>, <c>cancelled</c>, <c>deny</c>, <c>timeout</c>, <c>unavailable</c>.</summary>
    public const string OutcomeTag = "aim.outcome";

    internal static readonly ActivitySource Source = new(Name);
    private static readonly Meter Meter = new(Name);
    private static readonly Counter<long> DecisionCounter = Meter.CreateCounter<long>(Decisions, "{decision}", "Decisions of the call path, by outcome and deciding step.");
    private static readonly Counter<long> DenialCounter = Meter.CreateCounter<long>(Denials, "{denial}", "Denied actions, by reason code.");
    private static readonly UpDownCounter<long> WaitingCounter = Meter.CreateUpDownCounter<long>(ApprovalsWaiting, "{approval}", "JIT approvals being waited for.");
    private static readonly Histogram<double> AuditAppend = Meter.CreateHistogram<double>(AuditAppendDuration, "s", "Time to append an audit record that the call path waits for.");
    private static readonly Histogram<double> Verification = Meter.CreateHistogram<double>(VerificationDuration, "s", "Time the engine took to decide an action, approval waits included.");

    internal static void Decided(string decision, string step, string capability, string? reasonCode)
    {
        if (DecisionCounter.Enabled)
        {
            DecisionCounter.Add(1, new TagList { { DecisionTag, decision }, { StepTag, step }, { CapabilityTag, capability } });
        }

        if (reasonCode is not null && DenialCounter.Enabled)
        {
            DenialCounter.Add(1, new TagList { { ReasonCodeTag, reasonCode }, { StepTag, step }, { CapabilityTag, capability } });
        }
    }

    internal static void Verified(TimeSpan elapsed, string decision, string engine)
    {
        if (Verification.Enabled)
        {
            Verification.Record(elapsed.TotalSeconds, new TagList { { DecisionTag, decision }, { EngineTag, engine } });
        }
    }

    internal static void Appended(TimeSpan elapsed, string kind, string engine)
    {
        if (AuditAppend.Enabled)
        {
            AuditAppend.Record(elapsed.TotalSeconds, new TagList { { AuditKindTag, kind }, { EngineTag, engine } });
        }
    }

    /// <summary>Counts one approval wait until the returned scope is disposed.</summary>
    internal static ApprovalWait WaitingForApproval(string engine)
    {
        WaitingCounter.Add(1, new KeyValuePair<string, object?>(EngineTag, engine));
        return new ApprovalWait(engine);
    }

    internal static string StepName(AuthorizationStep? step) => step switch
    {
        AuthorizationStep.Capability => "capability",
        AuthorizationStep.Attribute => "attribute",
        AuthorizationStep.Context => "context",
        AuthorizationStep.Chain => "chain",
        AuthorizationStep.Intent => "intent",
        AuthorizationStep.Approval => "approval",
        _ => "pipeline",
    };

    /// <summary>Counts the embedded engine's approval waits (<see cref="ApprovalsWaiting"/>) around the configured handler.</summary>
    internal sealed class CountedApprovals(IApprovalHandler inner) : IApprovalHandler
    {
        public async ValueTask<ApprovalDecision> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken)
        {
            using var wait = WaitingForApproval("embedded");
            return await inner.RequestApprovalAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One approval being waited for; disposing it ends the wait (once).</summary>
    internal sealed class ApprovalWait(string engine) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                WaitingCounter.Add(-1, new KeyValuePair<string, object?>(EngineTag, engine));
            }
        }
    }
}
