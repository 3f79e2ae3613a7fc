using System.Diagnostics;
using Aim.Audit;
using Aim.Authorization;
using Aim.Engine;
using Aim.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim;

/// <summary>
/// The one entry point of the call path. Generated interceptors, framework filters and wrappers all
/// call <see cref="Invoke"/> or one of its siblings: authorize, (approve), run the body, sign and audit.
/// </summary>
/// <remarks>
/// Fail closed: when no runtime is configured, when the engine is unreachable, or when any step throws,
/// the body does not run and a typed <see cref="AimException"/> says why. An "authorized" record is
/// written before the body runs (durably for high and critical actions and for JIT approvals) and an
/// outcome record after it.
/// </remarks>
public sealed class AimRuntime : IAsyncDisposable
{
    /// <summary>The name of Aim's <see cref="System.Diagnostics.ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/> (see <see cref="AimTelemetry"/>).</summary>
    public const string TelemetryName = AimTelemetry.Name;

    private static readonly AsyncLocal<AimRuntime?> Scoped = new();
    private static readonly AimRuntime Unconfigured = new();
    private static AimRuntime? global;

    private readonly IAimEngine? _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IReadOnlyDictionary<string, string> _attributes;
    private readonly string _engineKind = "none";

    /// <summary>Creates a runtime over an engine.</summary>
    /// <param name="engine">The embedded engine or the server client.</param>
    /// <param name="timeProvider">The clock (tests pass their own).</param>
    /// <param name="logger">Where the runtime logs (never arguments or keys).</param>
    /// <param name="attributes">Attributes of this agent's environment, for attribute-based checks.</param>
    public AimRuntime(IAimEngine engine, TimeProvider? timeProvider = null, ILogger<AimRuntime>? logger = null, IReadOnlyDictionary<string, string>? attributes = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _attributes = attributes ?? new Dictionary<string, string>();
        _engineKind = engine switch
        {
            EmbeddedEngine => "embedded",
            Remote.RemoteEngine => "remote",
            _ => "custom",
        };
    }

    private AimRuntime()
    {
        _time = TimeProvider.System;
        _logger = NullLogger.Instance;
        _attributes = new Dictionary<string, string>();
    }

    /// <summary>
    /// The runtime in effect: the one scoped with <see cref="Use"/>, else the process-wide one set by
    /// <c>AimAgent.Secure</c> or <c>AddAim</c>. Never null: with nothing configured it is a runtime that
    /// refuses every action with <see cref="AimConfigurationException"/>.
    /// </summary>
    public static AimRuntime Current => Scoped.Value ?? Volatile.Read(ref global) ?? Unconfigured;

    /// <summary>Whether a real runtime is in effect.</summary>
    public static bool IsConfigured => (Scoped.Value ?? Volatile.Read(ref global)) is not null;

    /// <summary>
    /// From which risk level an "authorized" entry is durably committed before the body runs (see
    /// <see cref="AimOptions.DurableAuditFrom"/>). <see cref="RiskLevel.Auto"/> is treated as <see cref="RiskLevel.Low"/>.
    /// </summary>
    public RiskLevel DurableAuditFrom { get; init; } = RiskLevel.High;

    /// <summary>Whether this runtime can authorize anything (false only for the unconfigured placeholder).</summary>
    public bool IsOperational => _engine is not null;

    /// <summary>The agent this runtime acts for.</summary>
    /// <exception cref="AimConfigurationException">No runtime is configured.</exception>
    public AgentIdentity Agent => Engine.Agent;

    /// <summary>The engine behind this runtime.</summary>
    /// <exception cref="AimConfigurationException">No runtime is configured.</exception>
    public IAimEngine Engine => _engine ?? throw NotConfigured();

    /// <summary>Makes <paramref name="runtime"/> current for the enclosed (async) calls until the scope is disposed.</summary>
    public static IDisposable Use(AimRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var previous = Scoped.Value;
        Scoped.Value = runtime;
        return new Scope(previous);
    }

    /// <summary>Sets (or clears, with null) the process-wide runtime.</summary>
    public static void SetGlobal(AimRuntime? runtime) => Volatile.Write(ref global, runtime);

    /// <summary>Runs a secured action with no result.</summary>
    /// <exception cref="ActionDeniedException">The action was not authorized; the body did not run.</exception>
    /// <exception cref="ApprovalTimeoutException">No approval in time; the body did not run.</exception>
    /// <exception cref="AimUnavailableException">The engine or audit store is unavailable; the body did not run.</exception>
    /// <exception cref="AimConfigurationException">No runtime is configured; the body did not run.</exception>
    public void Invoke(ActionDescriptor action, object?[]? args, Action body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var ticket = Wait(BeginAsync(action, args, CancellationToken.None));
        try
        {
            body();
        }
        catch (Exception ex)
        {
            Complete(ticket, ex, null, hasResult: false);
            throw;
        }

        Complete(ticket, null, null, hasResult: false);
    }

    /// <summary>Runs a secured action that returns a value.</summary>
    /// <inheritdoc cref="Invoke(ActionDescriptor, object?[], Action)" path="/exception"/>
    public T Invoke<T>(ActionDescriptor action, object?[]? args, Func<T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var ticket = Wait(BeginAsync(action, args, CancellationToken.None));
        T result;
        try
        {
            result = body();
        }
        catch (Exception ex)
        {
            Complete(ticket, ex, null, hasResult: false);
            throw;
        }

        Complete(ticket, null, result);
        return result;
    }

    /// <summary>Runs a secured asynchronous action (<see cref="Task"/>).</summary>
    /// <inheritdoc cref="Invoke(ActionDescriptor, object?[], Action)" path="/exception"/>
    public async Task InvokeAsync(ActionDescriptor action, object?[]? args, Func<Task> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var ticket = await BeginAsync(action, args, cancellationToken).ConfigureAwait(false);
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Complete(ticket, ex, null, hasResult: false);
            throw;
        }

        Complete(ticket, null, null, hasResult: false);
    }

    /// <summary>Runs a secured asynchronous action that returns a value (<see cref="Task{TResult}"/>).</summary>
    /// <inheritdoc cref="Invoke(ActionDescriptor, object?[], Action)" path="/exception"/>
    public async Task<T> InvokeAsync<T>(ActionDescriptor action, object?[]? args, Func<Task<T>> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var ticket = await BeginAsync(action, args, cancellationToken).ConfigureAwait(false);
        T result;
        try
        {
            result = await body().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Complete(ticket, ex, null, hasResult: false);
            throw;
        }

        Complete(ticket, null, result);
        return result;
    }

    /// <summary>Runs a secured asynchronous action (<see cref="ValueTask"/>).</summary>
    /// <inheritdoc cref="Invoke(ActionDescriptor, object?[], Action)" path="/exception"/>
    public async ValueTask InvokeValueTaskAsync(ActionDescriptor action, object?[]? args, Func<ValueTask> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var ticket = await BeginAsync(action, args, cancellationToken).ConfigureAwait(false);
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Complete(ticket, ex, null, hasResult: false);
            throw;
        }

        Complete(ticket, null, null, hasResult: false);
    }

    /// <summary>Runs a secured asynchronous action that returns a value (<see cref="ValueTask{TResult}"/>).</summary>
    /// <inheritdoc cref="Invoke(ActionDescriptor, object?[], Action)" path="/exception"/>
    public async ValueTask<T> InvokeValueTaskAsync<T>(ActionDescriptor action, object?[]? args, Func<ValueTask<T>> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var ticket = await BeginAsync(action, args, cancellationToken).ConfigureAwait(false);
        T result;
        try
        {
            result = await body().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Complete(ticket, ex, null, hasResult: false);
            throw;
        }

        Complete(ticket, null, result);
        return result;
    }

    /// <summary>
    /// Authorizes an action without running anything: the check a front door makes when the body is
    /// not a delegate it can hand over (for example an HTTP endpoint). Records the authorized or denied
    /// entry; call <see cref="ActionScope.Complete"/> or <see cref="ActionScope.Fail"/> with the outcome.
    /// </summary>
    /// <inheritdoc cref="Invoke(ActionDescriptor, object?[], Action)" path="/exception"/>
    public async ValueTask<ActionScope> BeginActionAsync(ActionDescriptor action, object?[]? args, CancellationToken cancellationToken = default)
    {
        var ticket = await BeginAsync(action, args, cancellationToken).ConfigureAwait(false);
        return new ActionScope(this, ticket);
    }

    /// <summary>Disposes the engine (flushing the audit log) and clears the global slot if it holds this runtime.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.CompareExchange(ref global, null, this);
        if (_engine is not null)
        {
            await _engine.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static T Wait<T>(ValueTask<T> pending) =>
        pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static AimConfigurationException NotConfigured() => new(
        "No Aim runtime is configured, so the secured action was not run. Call AimAgent.Secure(\"name\", ...) " +
        "or services.AddAim(...) at start-up.");

    private async ValueTask<ActionTicket> BeginAsync(ActionDescriptor action, object?[]? args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (_engine is null)
        {
            throw NotConfigured();
        }

        var activity = AimTelemetry.Source.StartActivity(AimTelemetry.ActionActivity);
        if (activity is not null)
        {
            activity.SetTag(AimTelemetry.CapabilityTag, action.CapabilityName);
            activity.SetTag("aim.resource", action.Resource);
            activity.SetTag("aim.risk", action.EffectiveRisk.ToString().ToLowerInvariant());
            activity.SetTag("aim.jit", action.JitAccess);
            activity.SetTag("aim.agent", _engine.Agent.Name);
            activity.SetTag(AimTelemetry.EngineTag, _engineKind);
        }

        var request = new ActionRequest
        {
            ActionId = Guid.CreateVersion7(_time.GetUtcNow()).ToString("N"),
            Agent = _engine.Agent,
            Capability = action.Capability,
            Resource = action.Resource,
            Risk = action.EffectiveRisk,
            JitAccess = action.JitAccess,
            JitTimeout = action.JitTimeout,
            Method = action.Method,
            Description = action.Description,
            ParameterNames = action.ParameterNames,
            Arguments = args ?? [],
            Attributes = _attributes,
            DelegationToken = AimDelegation.CurrentToken,
            RequireDelegation = AimDelegation.IsRequired,
            CostUsd = action.CostUsd,
            Time = _time.GetUtcNow(),
        };
        var arguments = ArgumentRecorder.Describe(action, args);

        AuthorizationDecision decision;
        long started = _time.GetTimestamp();
        var verify = AimTelemetry.Source.StartActivity(AimTelemetry.VerifyActivity);
        try
        {
            decision = await _engine.AuthorizeAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (ApprovalTimeoutException ex)
        {
            Verified(verify, started, "deny");
            AimTelemetry.Decided("deny", "approval", action.CapabilityName, "approval_timeout");
            await RecordDenialAsync(action, request, arguments, "approval_timeout", ex.Message, null, cancellationToken).ConfigureAwait(false);
            Finish(activity, "timeout", "approval_timeout");
            throw;
        }
        catch (AimUnavailableException)
        {
            Verified(verify, started, "unavailable");
            AimTelemetry.Decided("unavailable", "engine", action.CapabilityName, null);
            Finish(activity, "unavailable", "aim_unavailable");
            throw;
        }
        catch (OperationCanceledException)
        {
            verify?.Dispose();
            Finish(activity, "cancelled");
            throw;
        }
        catch (Exception ex)
        {
            // Anything unexpected inside the pipeline is a denial, never a pass.
            Verified(verify, started, "deny");
            AimTelemetry.Decided("deny", "pipeline", action.CapabilityName, "pipeline_error");
            _logger.LogError(ex, "Authorization of {Capability} failed; denying", action.CapabilityName);
            await RecordDenialAsync(action, request, arguments, "pipeline_error", "The authorization pipeline failed: " + ex.GetType().Name, null, cancellationToken).ConfigureAwait(false);
            Finish(activity, "deny", "pipeline_error");
            throw new ActionDeniedException(action.CapabilityName, "pipeline_error", $"'{action.CapabilityName}' was denied because authorization failed ({ex.GetType().Name}).", ex);
        }

        Verified(verify, started, decision.Allowed ? "allow" : "deny");
        if (!decision.Allowed)
        {
            string code = decision.ReasonCode ?? "denied";
            string reason = decision.Reason ?? "denied";
            string step = AimTelemetry.StepName(decision.Step);
            AimTelemetry.Decided("deny", step, action.CapabilityName, code);
            activity?.SetTag(AimTelemetry.StepTag, step);
            await RecordDenialAsync(action, request, arguments, code, reason, decision, cancellationToken).ConfigureAwait(false);
            Finish(activity, "deny", code);
            _logger.LogInformation("Denied {Capability} for {Agent}: {ReasonCode}", action.CapabilityName, request.Agent.Name, code);
            throw new ActionDeniedException(action.CapabilityName, code, $"'{action.CapabilityName}' was denied: {reason}");
        }

        var authorized = NewRecord(action, request, AuditEntryKind.Authorized, arguments, "allow", details: Details(decision));

        // High-risk actions and approved ones must leave a durable trace before they run.
        bool durable = action.EffectiveRisk >= DurableAuditFrom || action.JitAccess;
        long appending = _time.GetTimestamp();
        try
        {
            await _engine.RecordAsync(authorized, durable, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Finish(activity, "unavailable", "aim_unavailable");
            throw ex as AimUnavailableException ?? new AimUnavailableException($"The audit log could not record '{action.CapabilityName}', so it did not run.", ex);
        }

        AimTelemetry.Appended(_time.GetElapsedTime(appending), "authorized", _engineKind);
        string allowedBy = decision.ApprovedBy is null ? "policy" : "approval";
        AimTelemetry.Decided("allow", allowedBy, action.CapabilityName, null);
        if (activity is not null)
        {
            activity.SetTag(AimTelemetry.DecisionTag, "allow");
            activity.SetTag(AimTelemetry.StepTag, allowedBy);
        }

        return new ActionTicket(action, request, arguments, _time.GetTimestamp(), activity);
    }

    // Generic so a result nobody logs is never boxed (this runs for every secured action).
    private void Complete<T>(in ActionTicket ticket, Exception? error, T result) =>
        Complete(ticket, error, ticket.Action.LogResult ? (object?)result : null, hasResult: ticket.Action.LogResult);

    internal void Complete(in ActionTicket ticket, Exception? error, object? result, bool hasResult)
    {
        var action = ticket.Action;
        string outcome = error switch
        {
            null => "success",
            OperationCanceledException => "cancelled",
            _ => "error",
        };
        var record = NewRecord(action, ticket.Request, AuditEntryKind.Outcome, ticket.Arguments, "allow",
            outcome: outcome,
            error: error is null ? null : error.GetType().FullName + ": " + error.Message,
            durationMs: _time.GetElapsedTime(ticket.Started).TotalMilliseconds,
            result: hasResult && action.LogResult ? ArgumentRecorder.ToJson(result) : null);

        try
        {
            long appending = _time.GetTimestamp();
            var pending = _engine!.RecordAsync(record, waitForDurable: false, CancellationToken.None);
            if (!pending.IsCompletedSuccessfully)
            {
                _ = ObserveAsync(pending, action.CapabilityName, appending);
            }
            else
            {
                AimTelemetry.Appended(_time.GetElapsedTime(appending), "outcome", _engineKind);
            }
        }
        catch (Exception ex)
        {
            // The body already ran; losing the outcome record is logged loudly rather than turning a success into a failure.
            _logger.LogError(ex, "Could not record the outcome of {Capability}", action.CapabilityName);
        }

        Finish(ticket.Activity, outcome, error?.GetType().Name);
    }

    private async Task ObserveAsync(ValueTask pending, string capability, long appending)
    {
        try
        {
            await pending.ConfigureAwait(false);
            AimTelemetry.Appended(_time.GetElapsedTime(appending), "outcome", _engineKind);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Could not record the outcome of {Capability}", capability);
        }
    }

    private async ValueTask RecordDenialAsync(ActionDescriptor action, ActionRequest request, ArgumentRecorder.Recorded arguments, string code, string reason, AuthorizationDecision? decision, CancellationToken cancellationToken)
    {
        var record = NewRecord(action, request, AuditEntryKind.Denied, arguments, "deny",
            reasonCode: code, reason: reason, details: decision is null ? null : Details(decision));
        try
        {
            long appending = _time.GetTimestamp();
            await _engine!.RecordAsync(record, waitForDurable: true, cancellationToken).ConfigureAwait(false);
            AimTelemetry.Appended(_time.GetElapsedTime(appending), "denied", _engineKind);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The action is refused either way; a lost denial record is an operational error to surface.
            _logger.LogError(ex, "Could not record the denial of {Capability}", action.CapabilityName);
        }
    }

    // One object per record (no "with" copy): this runs twice for every secured action.
    private static AuditRecord NewRecord(ActionDescriptor action, ActionRequest request, AuditEntryKind kind, ArgumentRecorder.Recorded arguments, string decision,
        string? reasonCode = null, string? reason = null, System.Text.Json.Nodes.JsonObject? details = null, string? outcome = null, string? error = null,
        double? durationMs = null, System.Text.Json.Nodes.JsonNode? result = null) => new()
    {
        ActionId = request.ActionId,
        Kind = kind,
        AgentId = request.Agent.IdText,
        AgentName = request.Agent.Name,
        Capability = action.CapabilityName,
        Resource = action.Resource,
        Risk = action.EffectiveRisk,
        Decision = decision,
        ReasonCode = reasonCode,
        Reason = reason,
        Details = details,
        Outcome = outcome,
        Error = error,
        DurationMs = durationMs,
        Result = result,
        Method = action.Method,
        ArgumentsDigest = arguments.Digest,
        Arguments = arguments.Values?.DeepClone(),
    };

    private static System.Text.Json.Nodes.JsonObject? Details(AuthorizationDecision decision)
    {
        if (decision.Details is null && decision.ApprovedBy is null && decision.Step is null)
        {
            return null;
        }

        var details = (System.Text.Json.Nodes.JsonObject?)decision.Details?.DeepClone() ?? [];
        if (decision.ApprovedBy is not null)
        {
            details["approved_by"] = decision.ApprovedBy;
        }

        if (decision.Step is { } step)
        {
            details["step"] = step.ToString().ToLowerInvariant();
        }

        return details;
    }

    private void Verified(Activity? verify, long started, string decision)
    {
        AimTelemetry.Verified(_time.GetElapsedTime(started), decision, _engineKind);
        if (verify is not null)
        {
            verify.SetTag(AimTelemetry.DecisionTag, decision);
            verify.Dispose();
        }
    }

    /// <summary>Ends the action's activity; a refusal or failure (<paramref name="problem"/>: a reason code or error type) sets its status to error.</summary>
    private static void Finish(Activity? activity, string outcome, string? problem = null)
    {
        if (activity is not null)
        {
            activity.SetTag(AimTelemetry.OutcomeTag, outcome);
            if (outcome is "deny" or "timeout" or "unavailable")
            {
                activity.SetTag(AimTelemetry.DecisionTag, outcome == "unavailable" ? "unavailable" : "deny");
                activity.SetTag(AimTelemetry.ReasonCodeTag, problem);
            }

            if (problem is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, problem);
            }

            activity.Dispose();
        }
    }

    // A struct: BeginAsync usually completes synchronously, so the ticket lives on the caller's stack.
    internal readonly record struct ActionTicket(ActionDescriptor Action, ActionRequest Request, ArgumentRecorder.Recorded Arguments, long Started, Activity? Activity);

    private sealed class Scope(AimRuntime? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                Scoped.Value = previous;
            }
        }
    }
}
