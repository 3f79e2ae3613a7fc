using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Protocol;
using Aim.Authorization;
using Aim.Engine;
using Aim.Identity;
using Aim.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Aim.Remote;

/// <summary>
/// The engine that asks an Aim server: every request is signed with the agent's Ed25519 key (RFC 9421 with an
/// RFC 9530 <c>Content-Digest</c>, <c>created</c>, a fresh nonce and the agent's key id); the agent registers
/// itself on first use with the key from the local key store; JIT approvals are awaited by long poll until the
/// action's timeout; audit records are signed by the agent and appended to the server's log. HTTP goes through
/// <see cref="IHttpClientFactory"/> and Microsoft.Extensions.Http.Resilience (attempt timeouts, retries with jitter for
/// registration and long polls only, a circuit breaker; every attempt signed afresh). Fails closed: when the server cannot be reached the action does not run
/// (<see cref="AimUnavailableException"/>).
/// </summary>
public sealed class RemoteEngine : IAimEngine
{
    private const string ClientName = "Aim.Remote";
    private const string CallsPipeline = "calls";
    private const string LongPollPipeline = "long-poll";
    private static readonly TimeSpan LongPollSlice = TimeSpan.FromSeconds(25);
    private static readonly HttpRequestOptionsKey<byte[]> Body = new("aim.body");
    private static readonly HttpRequestOptionsKey<bool> UseApiKey = new("aim.use-api-key");
    private static readonly HttpRequestOptionsKey<bool> Idempotent = new("aim.idempotent");
    private static readonly HttpRequestOptionsKey<string> Pipeline = new("aim.pipeline");

    private readonly AgentKey _key;
    private readonly Uri _server;
    private readonly string? _apiKey;
    private readonly bool _shareActionText;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ServiceProvider _services;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _registration = new(1, 1);
    private readonly ConcurrentDictionary<string, string> _verificationByAction = new(StringComparer.Ordinal);
    private string? _serverAgentId;
    private int _disposed;

    private RemoteEngine(AgentKey key, AimOptions options, ILoggerFactory loggers, Func<HttpMessageHandler>? handler)
    {
        _key = key;
        _server = options.ServerUrl!;
        _apiKey = options.ApiKey;
        _shareActionText = options.ShareActionText;
        _time = options.TimeProvider;
        _logger = loggers.CreateLogger<RemoteEngine>();

        var services = new ServiceCollection();
        var http = services.AddHttpClient(ClientName, c =>
        {
            c.BaseAddress = _server;
            c.Timeout = Timeout.InfiniteTimeSpan; // attempts are bounded by the pipeline's timeouts instead
        });
        http.AddResilienceHandler("aim-remote", static (pipeline, context) =>
        {
            if (context.InstanceName == LongPollPipeline)
            {
                // A long poll reads; retrying it is safe. No circuit breaker: a poll that waits is not a failing server.
                pipeline.AddRetry(new HttpRetryStrategyOptions { MaxRetryAttempts = 3, BackoffType = DelayBackoffType.Exponential, UseJitter = true, Delay = TimeSpan.FromMilliseconds(500) })
                    .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = LongPollSlice + TimeSpan.FromSeconds(15) });
                return;
            }

            // Non-idempotent calls (a verification creates a record, an audit append adds an entry) are never retried:
            // each attempt is signed with a fresh nonce, so the server could not tell a retry from a second request.
            pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 3,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    ShouldHandle = static args => ValueTask.FromResult(
                        args.Context.GetRequestMessage() is { } request && request.Options.TryGetValue(Idempotent, out bool idempotent) && idempotent
                        && HttpClientResiliencePredicates.IsTransient(args.Outcome)),
                })
                .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = 8,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = TimeSpan.FromSeconds(5),
                })
                .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = TimeSpan.FromSeconds(10) });
        }).SelectPipelineBy(static _ => static request => request.Options.TryGetValue(Pipeline, out string? name) && name is not null ? name : CallsPipeline);

        // Inside the resilience handler, so every attempt (retries included) is signed afresh: its own nonce and created time.
        http.AddHttpMessageHandler(() => new SigningHandler(this));
        if (handler is not null)
        {
            http.ConfigurePrimaryHttpMessageHandler(handler);
        }

        _services = services.BuildServiceProvider();
        _http = _services.GetRequiredService<IHttpClientFactory>().CreateClient(ClientName);
    }

    /// <inheritdoc />
    public AgentIdentity Agent => _key.Identity;

    /// <summary>The server's id of this agent, once registered.</summary>
    public string? ServerAgentId => _serverAgentId;

    /// <summary>Creates the engine from options with a <see cref="AimOptions.ServerUrl"/>; the agent's key is loaded or created in the local key store.</summary>
    /// <param name="options">The options; <see cref="AimOptions.ServerUrl"/> and <see cref="AimOptions.AgentName"/> are required.</param>
    /// <param name="loggerFactory">Diagnostics.</param>
    /// <param name="primaryHandler">Replaces the HTTP handler (tests, proxies); null for the default.</param>
    /// <exception cref="AimConfigurationException">No agent name, or the server URL is not an absolute http(s) URL.</exception>
    public static RemoteEngine Create(AimOptions options, ILoggerFactory? loggerFactory = null, Func<HttpMessageHandler>? primaryHandler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.AgentName))
        {
            throw new AimConfigurationException("AimOptions.AgentName is required.");
        }

        if (options.ServerUrl is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            throw new AimConfigurationException($"AimOptions.ServerUrl must be an absolute http or https URL without query, got '{options.ServerUrl}'.");
        }

        if (options.ApiKey is { } apiKey && (apiKey.Length == 0 || apiKey.Any(char.IsControl)))
        {
            throw new AimConfigurationException("AimOptions.ApiKey is empty or contains control characters.");
        }

        var store = new AgentKeyStore(options.Home ?? AgentKeyStore.DefaultHome(), options.TimeProvider);
        var key = store.LoadOrCreate(options.AgentName);
        return new RemoteEngine(key, options, loggerFactory ?? NullLoggerFactory.Instance, primaryHandler);
    }

    /// <inheritdoc />
    /// <exception cref="ApprovalTimeoutException">No approver answered before the action's JIT timeout.</exception>
    /// <exception cref="AimUnavailableException">The server could not be reached or answered with an error.</exception>
    /// <exception cref="AimConfigurationException">The server refused to register the agent (no or wrong API key, name taken).</exception>
    public async ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        await EnsureRegisteredAsync(cancellationToken).ConfigureAwait(false);

        var body = new JsonObject
        {
            ["action_id"] = request.ActionId,
            ["capability"] = request.Capability.Value,
            ["risk"] = request.Risk.ToString().ToLowerInvariant(),
            ["jit"] = request.JitAccess,
            ["jit_timeout_seconds"] = Math.Max(1, Math.Ceiling(request.JitTimeout.TotalSeconds)),
        };
        if (request.Resource is not null)
        {
            body["resource"] = request.Resource;
        }

        if (request.Method.Length > 0)
        {
            body["method"] = request.Method;
        }

        if (request.DelegationToken is not null)
        {
            body["delegation_token"] = request.DelegationToken;
        }

        if (request.RequireDelegation)
        {
            body["require_delegation"] = true;
        }

        if (request.CostUsd != 0)
        {
            body["cost_usd"] = request.CostUsd;
        }

        if (request.Attributes.Count > 0)
        {
            var attributes = new JsonObject();
            foreach (var (key, value) in request.Attributes)
            {
                attributes[key] = value;
            }

            body["attributes"] = attributes;
        }

        if (_shareActionText && request.Risk >= RiskLevel.Medium)
        {
            // Step 5 on the server reads what the embedded step reads: the same description, names and formatted values.
            var arguments = new JsonArray();
            foreach (var argument in request.Arguments)
            {
                arguments.Add(ActionText.FormatValue(argument));
            }

            var names = new JsonArray();
            foreach (var name in request.ParameterNames)
            {
                names.Add(name);
            }

            body["intent"] = new JsonObject { ["description"] = request.Description, ["parameter_names"] = names, ["arguments"] = arguments };
        }

        var (status, result) = await SendAsync(HttpMethod.Post, "api/v1/verifications", body, Call.Single, useApiKey: false, cancellationToken).ConfigureAwait(false);
        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return Refused(result);
        }

        EnsureSuccess(status, result, "verification");
        var decision = await DecideAsync(request, result, cancellationToken).ConfigureAwait(false);
        if (decision.Allowed && Str(result, "id") is { } id)
        {
            _verificationByAction[request.ActionId] = id;
        }

        return decision;
    }

    /// <inheritdoc />
    public async ValueTask RecordAsync(AuditRecord record, bool waitForDurable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_disposed != 0)
        {
            throw new AimUnavailableException("The remote engine is disposed; nothing can be recorded.");
        }

        try
        {
            await EnsureRegisteredAsync(cancellationToken).ConfigureAwait(false);
            // The server files the record under the agent it registered, so the record names that id (not the local one).
            var json = AuditRecordJson.ToJson(record with { AgentId = _serverAgentId ?? record.AgentId });
            var signature = _key.Sign(CanonicalJson.Serialize(json));
            var body = new JsonObject { ["record"] = json, ["record_sig"] = System.Buffers.Text.Base64Url.EncodeToString(signature) };
            var (status, result) = await SendAsync(HttpMethod.Post, "api/v1/audit/records", body, Call.Single, useApiKey: false, cancellationToken).ConfigureAwait(false);
            EnsureSuccess(status, result, "audit record");

            if (record.Kind == AuditEntryKind.Outcome && record.Outcome is { } outcome && _verificationByAction.TryRemove(record.ActionId, out var verification))
            {
                var report = new JsonObject { ["outcome"] = outcome is "success" or "error" or "cancelled" ? outcome : "error" };
                var (s, r) = await SendAsync(HttpMethod.Post, $"api/v1/verifications/{Uri.EscapeDataString(verification)}/result", report, Call.Single, useApiKey: false, cancellationToken).ConfigureAwait(false);
                if ((int)s >= 300)
                {
                    _logger.LogWarning("The server did not accept the result of verification {Id}: {Code}", verification, ErrorCode(r));
                }
            }
        }
        catch (AimException ex) when (ex is not AimUnavailableException)
        {
            throw new AimUnavailableException($"The Aim server refused the audit record: {ex.Message}", ex);
        }
    }

    /// <summary>Releases the HTTP client and the key.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _services.DisposeAsync().ConfigureAwait(false);
        _registration.Dispose();
        _key.Dispose();
    }

    private async ValueTask<AuthorizationDecision> DecideAsync(ActionRequest request, JsonObject result, CancellationToken ct)
    {
        var deadline = _time.GetUtcNow() + request.JitTimeout;
        using var waiting = Str(result, "status") == "pending" ? AimTelemetry.WaitingForApproval("remote") : null;
        while (true)
        {
            var details = result["details"] as JsonObject;
            switch (Str(result, "status"))
            {
                case "approved":
                    details = (JsonObject?)details?.DeepClone() ?? [];
                    details["verification_id"] = Str(result, "id");
                    if (Str(result, "decided_by") is { } approver)
                    {
                        details["approver"] = approver;
                        if (Str(result, "decision_reason") is { } why)
                        {
                            details["approval_reason"] = why;
                        }

                        return new AuthorizationDecision(true, ApprovedBy: approver, Details: details);
                    }

                    return new AuthorizationDecision(true, Details: details);
                case "denied":
                    string code = Str(result, "reason_code") ?? "denied";
                    var step = Enum.TryParse<AuthorizationStep>(Str(result, "step"), ignoreCase: true, out var s) && Enum.IsDefined(s) ? s : AuthorizationStep.Capability;
                    return new AuthorizationDecision(false, step, code, Str(result, "reason") ?? "Denied by the Aim server.", Str(result, "decided_by"), (JsonObject?)details?.DeepClone());
                case "expired":
                    throw new ApprovalTimeoutException(request.Capability.Value, request.JitTimeout);
                case "pending":
                    break;
                default:
                    throw new AimUnavailableException("The Aim server answered with an unknown verification status.");
            }

            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                throw new ApprovalTimeoutException(request.Capability.Value, request.JitTimeout);
            }

            _logger.LogInformation("Waiting up to {Timeout} for approval of {Capability}", left, request.Capability);
            long wait = (long)Math.Max(1, Math.Min(LongPollSlice.TotalSeconds, Math.Ceiling(left.TotalSeconds)));
            string id = Str(result, "id") ?? throw new AimUnavailableException("The Aim server returned a pending verification without an id.");
            var (status, next) = await SendAsync(HttpMethod.Get, $"api/v1/verifications/{Uri.EscapeDataString(id)}?wait={wait}", null, Call.LongPoll, useApiKey: false, ct).ConfigureAwait(false);
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return Refused(next);
            }

            EnsureSuccess(status, next, "verification");
            result = next;
        }
    }

    private async Task EnsureRegisteredAsync(CancellationToken ct)
    {
        if (_serverAgentId is not null)
        {
            return;
        }

        await _registration.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_serverAgentId is not null)
            {
                return;
            }

            var body = new JsonObject { ["name"] = _key.Identity.Name, ["aip_id"] = _key.Identity.AipId };
            var (status, result) = await SendAsync(HttpMethod.Post, "api/v1/agents", body, Call.Idempotent, useApiKey: true, ct).ConfigureAwait(false);
            if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.Conflict)
            {
                throw new AimConfigurationException($"The Aim server refused to register agent '{_key.Identity.Name}': {ErrorCode(result)}: {ErrorMessage(result)}");
            }

            EnsureSuccess(status, result, "registration");
            _serverAgentId = Str(result, "id") ?? throw new AimUnavailableException("The Aim server's registration answer has no agent id.");
        }
        finally
        {
            _registration.Release();
        }
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, JsonObject? body, Call call, bool useApiKey, CancellationToken ct)
    {
        byte[] content = body is null ? [] : JsonSerializer.SerializeToUtf8Bytes(body);
        using var message = new HttpRequestMessage(method, new Uri(_server, path));
        if (content.Length > 0 || method != HttpMethod.Get)
        {
            message.Content = new ByteArrayContent(content);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        message.Options.Set(Body, content);
        message.Options.Set(UseApiKey, useApiKey);
        message.Options.Set(Idempotent, call == Call.Idempotent);
        message.Options.Set(Pipeline, call == Call.LongPoll ? LongPollPipeline : CallsPipeline);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or ExecutionRejectedException or IOException
                                   || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            // ExecutionRejectedException: the pipeline gave up (an attempt timed out, or the circuit is open).
            throw new AimUnavailableException($"The Aim server at {_server} could not be reached ({ex.GetType().Name}); the action did not run.", ex);
        }

        using (response)
        {
            JsonObject json;
            try
            {
                var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                json = bytes.Length == 0 ? [] : JsonNode.Parse(bytes) as JsonObject ?? [];
            }
            catch (JsonException)
            {
                json = [];
            }

            if ((int)response.StatusCode >= 500)
            {
                throw new AimUnavailableException($"The Aim server failed ({(int)response.StatusCode} {ErrorCode(json)}); the action did not run.");
            }

            return (response.StatusCode, json);
        }
    }

    private void Sign(HttpRequestMessage message)
    {
        byte[] content = message.Options.TryGetValue(Body, out byte[]? bytes) && bytes is not null ? bytes : [];
        string digest = HttpMessageSignature.ContentDigest(content);
        var (input, signature) = HttpMessageSignature.Sign(message.Method.Method, message.RequestUri!, digest, _time.GetUtcNow().ToUnixTimeSeconds(),
            HttpMessageSignature.NewNonce(), _key.Identity.AipId, _key.KeyPair);
        foreach (string name in (ReadOnlySpan<string>)["Content-Digest", "Signature-Input", "Signature"])
        {
            message.Headers.Remove(name);
        }

        message.Headers.TryAddWithoutValidation("Content-Digest", digest);
        message.Headers.TryAddWithoutValidation("Signature-Input", input);
        message.Headers.TryAddWithoutValidation("Signature", signature);
        if (message.Options.TryGetValue(UseApiKey, out bool useApiKey) && useApiKey && _apiKey is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }
    }

    private static AuthorizationDecision Refused(JsonObject result) =>
        new(false, AuthorizationStep.Pipeline, ErrorCode(result), "The Aim server refused the agent: " + ErrorMessage(result));

    private static void EnsureSuccess(HttpStatusCode status, JsonObject body, string what)
    {
        if ((int)status is < 200 or >= 300)
        {
            throw new AimUnavailableException($"The Aim server rejected the {what} ({(int)status} {ErrorCode(body)}: {ErrorMessage(body)}).");
        }
    }

    private static string ErrorCode(JsonObject body) => body["error"] is JsonObject e && Str(e, "code") is { } c ? c : "unknown_error";

    private static string ErrorMessage(JsonObject body) => body["error"] is JsonObject e && Str(e, "message") is { } m ? m : "no message";

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>Signs each attempt as it leaves (below the resilience handler, so a retry gets a fresh signature).</summary>
    private sealed class SigningHandler(RemoteEngine engine) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            engine.Sign(request);
            return base.SendAsync(request, cancellationToken);
        }
    }

    private enum Call
    {
        /// <summary>Sent once (verifications, audit appends).</summary>
        Single,

        /// <summary>Retried on transient failures (registration).</summary>
        Idempotent,

        /// <summary>A long-poll read, retried, with a longer attempt timeout and no circuit breaker.</summary>
        LongPoll,
    }
}
