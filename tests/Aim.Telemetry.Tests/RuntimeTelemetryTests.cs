using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Aim.Authorization;
using Aim.Engine;

namespace Aim.Telemetry.Tests;

/// <summary>The runtime's activities and instruments, read with in-process <see cref="ActivityListener"/> and <see cref="MeterListener"/>.</summary>
public sealed class RuntimeTelemetryTests : IAsyncDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-telemetry-").FullName;
    private readonly Recorder _recorder = new();

    private AimRuntime Runtime(Action<AimOptions>? configure = null, params string[] grants)
    {
        var options = new AimOptions { AgentName = "telemetry-agent", Home = _home }.Grant(grants);
        configure?.Invoke(options);
        return new AimRuntime(EmbeddedEngine.Create(options));
    }

    [Fact]
    public async Task Allowed_action_counts_one_allow_decision_and_times_verification_and_audit_append()
    {
        await using var runtime = Runtime(grants: "db:read");

        Assert.Equal(3, await runtime.InvokeAsync(new ActionDescriptor("db:read", resource: "orders"), null, () => Task.FromResult(3)));

        var decision = Assert.Single(_recorder.Longs(AimTelemetry.Decisions));
        Assert.Equal(1, decision.Value);
        Assert.Equal("allow", decision.Tags[AimTelemetry.DecisionTag]);
        Assert.Equal("policy", decision.Tags[AimTelemetry.StepTag]);
        Assert.Equal("db:read", decision.Tags[AimTelemetry.CapabilityTag]);
        Assert.Empty(_recorder.Longs(AimTelemetry.Denials));

        var verification = Assert.Single(_recorder.Doubles(AimTelemetry.VerificationDuration));
        Assert.InRange(verification.Value, 0, 60);
        Assert.Equal("allow", verification.Tags[AimTelemetry.DecisionTag]);
        Assert.Equal("embedded", verification.Tags[AimTelemetry.EngineTag]);

        var appends = _recorder.Doubles(AimTelemetry.AuditAppendDuration);
        Assert.Contains(appends, a => (string?)a.Tags[AimTelemetry.AuditKindTag] == "authorized");
        Assert.All(appends, a => Assert.InRange(a.Value, 0, 60));
    }

    [Fact]
    public async Task Denied_action_counts_a_denial_by_reason_code_and_step()
    {
        await using var runtime = Runtime(grants: "db:read");

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(new ActionDescriptor("email:send"), null, () => Task.CompletedTask));

        var decision = Assert.Single(_recorder.Longs(AimTelemetry.Decisions));
        Assert.Equal("deny", decision.Tags[AimTelemetry.DecisionTag]);
        Assert.Equal("capability", decision.Tags[AimTelemetry.StepTag]);
        var denial = Assert.Single(_recorder.Longs(AimTelemetry.Denials));
        Assert.Equal(denied.ReasonCode, denial.Tags[AimTelemetry.ReasonCodeTag]);
        Assert.Equal("capability_not_granted", denial.Tags[AimTelemetry.ReasonCodeTag]);
        Assert.Equal("capability", denial.Tags[AimTelemetry.StepTag]);
        Assert.Contains(_recorder.Doubles(AimTelemetry.AuditAppendDuration), a => (string?)a.Tags[AimTelemetry.AuditKindTag] == "denied");
    }

    [Fact]
    public async Task Approval_wait_is_counted_while_it_lasts_and_an_approved_action_is_allowed_by_approval()
    {
        var asked = new TaskCompletionSource();
        var answer = new TaskCompletionSource<ApprovalDecision>();
        await using var runtime = Runtime(o => o.ApprovalHandler = new Aim.Approvals.DelegateApprovalHandler((_, _) =>
        {
            asked.TrySetResult();
            return new ValueTask<ApprovalDecision>(answer.Task);
        }), "payment:refund");

        var call = runtime.InvokeAsync(new ActionDescriptor("payment:refund", jitAccess: true, jitTimeoutSeconds: 60), null, () => Task.FromResult("refunded"));
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, _recorder.Sum(AimTelemetry.ApprovalsWaiting));
        answer.SetResult(new ApprovalDecision(true, "alice"));
        Assert.Equal("refunded", await call.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(0, _recorder.Sum(AimTelemetry.ApprovalsWaiting));
        Assert.All(_recorder.Longs(AimTelemetry.ApprovalsWaiting), m => Assert.Equal("embedded", m.Tags[AimTelemetry.EngineTag]));
        var decision = Assert.Single(_recorder.Longs(AimTelemetry.Decisions));
        Assert.Equal("allow", decision.Tags[AimTelemetry.DecisionTag]);
        Assert.Equal("approval", decision.Tags[AimTelemetry.StepTag]);
    }

    [Fact]
    public async Task Remote_engine_counts_its_long_poll_wait_for_an_approval()
    {
        var polled = new TaskCompletionSource();
        var approve = new TaskCompletionSource();
        var handler = new ScriptedAimServer(async (request, ct) =>
        {
            string path = request.RequestUri!.AbsolutePath;
            if (path.EndsWith("/agents", StringComparison.Ordinal))
            {
                return ScriptedAimServer.Json("""{"id":"agent-1"}""");
            }

            if (request.Method == HttpMethod.Get)
            {
                polled.TrySetResult();
                await approve.Task.WaitAsync(ct);
                return ScriptedAimServer.Json("""{"id":"v1","status":"approved","decided_by":"alice"}""");
            }

            return path.EndsWith("/verifications", StringComparison.Ordinal)
                ? ScriptedAimServer.Json("""{"id":"v1","status":"pending"}""")
                : ScriptedAimServer.Json("""{"index":0}""");
        });
        var options = new AimOptions { AgentName = "remote-telemetry", Home = _home, ServerUrl = new Uri("http://aim.test/"), ApiKey = "aim_test" };
        await using var runtime = new AimRuntime(Aim.Remote.RemoteEngine.Create(options, primaryHandler: () => handler));

        var call = runtime.InvokeAsync(new ActionDescriptor("payment:refund", jitAccess: true, jitTimeoutSeconds: 60), null, () => Task.FromResult(1));
        await polled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, _recorder.Sum(AimTelemetry.ApprovalsWaiting));
        approve.SetResult();
        Assert.Equal(1, await call.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, _recorder.Sum(AimTelemetry.ApprovalsWaiting));
        Assert.All(_recorder.Longs(AimTelemetry.ApprovalsWaiting), m => Assert.Equal("remote", m.Tags[AimTelemetry.EngineTag]));
        Assert.Equal("remote", Assert.Single(_recorder.Doubles(AimTelemetry.VerificationDuration)).Tags[AimTelemetry.EngineTag]);
    }

    [Fact]
    public async Task Denied_approval_is_a_denial_at_the_approval_step_and_the_wait_ends()
    {
        await using var runtime = Runtime(o => o.ApprovalHandler = new Aim.Approvals.DelegateApprovalHandler(_ => new ApprovalDecision(false, "bob", "no")), "payment:refund");

        await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(new ActionDescriptor("payment:refund", jitAccess: true), null, () => Task.CompletedTask));

        Assert.Equal(0, _recorder.Sum(AimTelemetry.ApprovalsWaiting));
        var denial = Assert.Single(_recorder.Longs(AimTelemetry.Denials));
        Assert.Equal("approval_denied", denial.Tags[AimTelemetry.ReasonCodeTag]);
        Assert.Equal("approval", denial.Tags[AimTelemetry.StepTag]);
    }

    [Fact]
    public async Task Action_activity_carries_the_decision_and_outcome_with_a_child_verify_activity()
    {
        await using var runtime = Runtime(grants: "db:read");

        await runtime.InvokeAsync(new ActionDescriptor("db:read", resource: "orders"), null, () => Task.CompletedTask);
        await Assert.ThrowsAsync<ActionDeniedException>(() => runtime.InvokeAsync(new ActionDescriptor("db:write"), null, () => Task.CompletedTask));

        var actions = _recorder.Activities.Where(a => a.OperationName == AimTelemetry.ActionActivity).ToList();
        Assert.Equal(2, actions.Count);
        var allowed = actions.Single(a => (string?)a.GetTagItem(AimTelemetry.CapabilityTag) == "db:read");
        Assert.Equal("allow", allowed.GetTagItem(AimTelemetry.DecisionTag));
        Assert.Equal("success", allowed.GetTagItem(AimTelemetry.OutcomeTag));
        Assert.Equal("orders", allowed.GetTagItem("aim.resource"));
        Assert.Equal(ActivityStatusCode.Unset, allowed.Status);
        var verify = _recorder.Activities.Single(a => a.OperationName == AimTelemetry.VerifyActivity && a.ParentSpanId == allowed.SpanId);
        Assert.Equal("allow", verify.GetTagItem(AimTelemetry.DecisionTag));

        var refused = actions.Single(a => (string?)a.GetTagItem(AimTelemetry.CapabilityTag) == "db:write");
        Assert.Equal("deny", refused.GetTagItem(AimTelemetry.DecisionTag));
        Assert.Equal("capability_not_granted", refused.GetTagItem(AimTelemetry.ReasonCodeTag));
        Assert.Equal(ActivityStatusCode.Error, refused.Status);
    }

    [Fact]
    public async Task Failing_body_ends_the_activity_with_an_error_outcome()
    {
        await using var runtime = Runtime(grants: "db:read");

        await Assert.ThrowsAsync<InvalidOperationException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => throw new InvalidOperationException("boom")));

        var action = Assert.Single(_recorder.Activities, a => a.OperationName == AimTelemetry.ActionActivity);
        Assert.Equal("error", action.GetTagItem(AimTelemetry.OutcomeTag));
        Assert.Equal(ActivityStatusCode.Error, action.Status);
    }

    [Fact]
    public async Task Telemetry_never_carries_arguments_or_results()
    {
        await using var runtime = Runtime(grants: "db:read");
        const string Secret = "s3cr3t-argument-value";

        await runtime.InvokeAsync(new ActionDescriptor("db:read", parameterNames: ["password"]), [Secret], () => Task.FromResult(Secret + "-result"));

        foreach (var activity in _recorder.Activities)
        {
            Assert.DoesNotContain(activity.TagObjects, t => t.Value?.ToString()?.Contains(Secret, StringComparison.Ordinal) == true);
        }

        Assert.DoesNotContain(_recorder.AllTags(), t => t.Value?.ToString()?.Contains(Secret, StringComparison.Ordinal) == true);
    }

    public async ValueTask DisposeAsync()
    {
        _recorder.Dispose();
        await Task.Yield();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class ScriptedAimServer(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        public static HttpResponseMessage Json(string json) =>
            new(System.Net.HttpStatusCode.OK) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => answer(request, cancellationToken);
    }

    internal sealed record Measurement<T>(T Value, IReadOnlyDictionary<string, object?> Tags);

    /// <summary>Listens to the <c>Aim</c> activity source and meter for one test.</summary>
    internal sealed class Recorder : IDisposable
    {
        private readonly ActivityListener _activities;
        private readonly MeterListener _meters = new();
        private readonly ConcurrentQueue<(string Instrument, object Value, Dictionary<string, object?> Tags)> _measurements = new();

        public Recorder()
        {
            _activities = new ActivityListener
            {
                ShouldListenTo = s => s.Name == AimTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a => Activities.Enqueue(a),
            };
            ActivitySource.AddActivityListener(_activities);
            _meters.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == AimTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _meters.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _meters.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _meters.Start();
        }

        public ConcurrentQueue<Activity> Activities { get; } = new();

        public List<Measurement<long>> Longs(string instrument) =>
            [.. _measurements.Where(m => m.Instrument == instrument).Select(m => new Measurement<long>((long)m.Value, m.Tags))];

        public List<Measurement<double>> Doubles(string instrument) =>
            [.. _measurements.Where(m => m.Instrument == instrument).Select(m => new Measurement<double>((double)m.Value, m.Tags))];

        public long Sum(string instrument) => Longs(instrument).Sum(m => m.Value);

        public IEnumerable<KeyValuePair<string, object?>> AllTags() => _measurements.SelectMany(m => m.Tags);

        public void Dispose()
        {
            _activities.Dispose();
            _meters.Dispose();
        }

        private void Add(Instrument instrument, object value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            _measurements.Enqueue((instrument.Name, value, copy));
        }
    }
}
