using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Aim.Audit;
using Aim.Tokens;
using Aim.Tokens.Http;
using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Aim.Gateway;

/// <summary>
/// The gateway's request path, a thin front door on the one call path: read the AIP token (<c>X-AIP-Token</c>,
/// <c>Authorization: AIP</c>, else A2A <c>params.metadata.aip_token</c>), inspect the body (which MCP tools it calls;
/// ambiguous bodies are refused), then ask <see cref="AimRuntime"/> for each action under
/// <c>AimDelegation.Require(token)</c>: <c>gateway:forward</c> with resource <c>tool:&lt;name&gt;</c> per tool call (or the
/// request path when it calls none), or the action a tool is mapped to. The runtime decides (policy, token in step 4,
/// limits), writes the signed records, and the body it guards is the forwarding, done by YARP's <see cref="IHttpForwarder"/>
/// with the verified identity in <c>X-AIP-Verified-*</c> headers. Refusals are answered here with the call path's reason
/// code in <c>{"error":{"code","message"}}</c> (401 for token problems, 403 for denials) and never reach the upstream.
/// </summary>
public sealed class GatewayProxy : IDisposable
{
    /// <summary>The gateway's action: forwarding one request (or one tool call of it) to the upstream.</summary>
    public const string ForwardCapability = "gateway:forward";

    /// <summary>The prefix of <c>gateway:forward</c>'s resource for a tool call; the resource is also the AIP scope the token needs.</summary>
    public const string ToolResourcePrefix = "tool:";

    /// <summary>Header with the verified holder (the token's <c>sub</c> or last delegate).</summary>
    public const string SubjectHeader = "X-AIP-Verified-Subject";

    /// <summary>Header with the verified root issuer.</summary>
    public const string IssuerHeader = "X-AIP-Verified-Issuer";

    /// <summary>Header with the effective scopes, space separated.</summary>
    public const string ScopesHeader = "X-AIP-Verified-Scopes";

    /// <summary>Header with the delegation depth.</summary>
    public const string DepthHeader = "X-AIP-Verified-Depth";

    /// <summary>Refusal code: the body is not JSON the gateway can read unambiguously (400).</summary>
    public const string MalformedCode = "request_malformed";

    /// <summary>Refusal code: the body is over <see cref="GatewayConfig.MaxBodyBytes"/> (413).</summary>
    public const string TooLargeCode = "request_too_large";

    /// <summary>Refusal code: a protocol upgrade (WebSocket, h2c) or CONNECT tunnel, whose bytes the gateway could not inspect (400).</summary>
    public const string UpgradeRefusedCode = "upgrade_refused";

    /// <summary>Answer code: the upstream could not be reached (502).</summary>
    public const string UpstreamUnavailableCode = "upstream_unavailable";

    /// <summary>Answer code: the decision could not be recorded, so nothing was forwarded (503).</summary>
    public const string AuditUnavailableCode = AuditLogException.Unavailable;

    // Descriptors of gateway:forward by resource, built once (capability parsing and risk detection are not free); bounded
    // because tool names and paths come from callers.
    private const int ForwardActionCacheLimit = 4096;

    private readonly GatewayConfig _config;
    private readonly AimRuntime _runtime;
    private readonly AipVerifier _verifier;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _upstream;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly string _upstreamBase;
    private readonly IReadOnlyDictionary<string, ActionDescriptor> _tools;
    private readonly Func<string, bool>? _keepArguments;
    private readonly ConcurrentDictionary<string, ActionDescriptor> _forwardActions = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly ConditionalWeakTable<AipVerifiedToken, ForwardedIdentity> _identities = [];

    /// <summary>Creates the proxy.</summary>
    /// <param name="config">The validated config.</param>
    /// <param name="runtime">The gateway's runtime: decides every request and records it.</param>
    /// <param name="verifier">The verifier step 4 uses; its cache gives the forwarded identity of a token step 4 accepted.</param>
    /// <param name="forwarder">YARP's forwarder.</param>
    /// <param name="logger">Operational log (never tokens); the request path logs only warnings and errors.</param>
    /// <param name="tools">Actions of mapped tools by name (see <see cref="GatewayOptions.Tools"/>).</param>
    internal GatewayProxy(GatewayConfig config, AimRuntime runtime, AipVerifier verifier, IHttpForwarder forwarder, ILogger logger, IReadOnlyDictionary<string, ActionDescriptor>? tools = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(forwarder);
        ArgumentNullException.ThrowIfNull(logger);
        config.Validate();
        _config = config;
        _runtime = runtime;
        _verifier = verifier;
        _forwarder = forwarder;
        _logger = logger;
        _tools = tools ?? new Dictionary<string, ActionDescriptor>();
        _keepArguments = _tools.Count == 0 ? null : name => _tools.TryGetValue(name, out var action) && action.ParameterNames.Count > 0;
        _upstreamBase = config.Upstream.TrimEnd('/');
        _upstream = new HttpMessageInvoker(CreateUpstreamHandler(config), disposeHandler: true);
        _requestConfig = CreateRequestConfig();
    }

    /// <summary>How many verified tokens the verifier remembers (a repeated token skips the signature check in step 4).</summary>
    public int CachedTokens => _verifier.CachedTokens;

    /// <summary>The upstream connection settings: a lean, pooled HTTP/1.1 client that adds nothing of its own.</summary>
    internal static SocketsHttpHandler CreateUpstreamHandler(GatewayConfig config) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        // Keep-alive connections are reused; recycled now and then so DNS changes of the upstream are picked up.
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        MaxConnectionsPerServer = config.MaxUpstreamConnections,
        // No trace headers of the gateway's own: the caller's traceparent (if any) is forwarded as received.
        ActivityHeadersPropagator = null,
    };

    /// <summary>YARP's settings for each forwarded request: HTTP/1.1 exactly, a long activity timeout for streams.</summary>
    internal static ForwarderRequestConfig CreateRequestConfig() => new()
    {
        // Streams (MCP server-sent events) may idle between messages; a dead upstream is still noticed.
        ActivityTimeout = TimeSpan.FromMinutes(10),
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    /// <summary>Handles one request end to end.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var aborted = context.RequestAborted;
        if (IsTunnel(context))
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, UpgradeRefusedCode, "Protocol upgrades and tunnels are not forwarded: the gateway could not inspect what flows through them.").ConfigureAwait(false);
            return;
        }

        // Every body is read (whatever the method or content type says) and must be JSON the gateway reads unambiguously:
        // an upstream may parse a body a label says is not JSON-RPC, so the label decides nothing.
        byte[]? body = null;
        int bodyLength = 0;
        try
        {
            var rpc = JsonRpcInspection.None;
            if (HasBody(context))
            {
                (body, bodyLength) = await ReadBodyAsync(request, _config.MaxBodyBytes, aborted).ConfigureAwait(false);
                if (bodyLength < 0)
                {
                    await RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, TooLargeCode, $"Request bodies are limited to {_config.MaxBodyBytes} bytes.").ConfigureAwait(false);
                    return;
                }

                if (bodyLength > 0)
                {
                    if (JsonRpcInspection.Inspect(body.AsMemory(0, bodyLength), _keepArguments) is not { } inspected)
                    {
                        // What the gateway cannot read it cannot check (a tool, a duplicate key): refused, never guessed.
                        await RefuseAsync(context, StatusCodes.Status400BadRequest, MalformedCode, "The body is not JSON the gateway can read unambiguously (invalid JSON, a member name twice in any case, a tools/call without a tool name, a batch entry that is not an object).").ConfigureAwait(false);
                        return;
                    }

                    rpc = inspected;
                }
            }

            string? token;
            try
            {
                token = ReadToken(request.Headers) ?? (rpc.TokenError is { } error ? throw error : rpc.A2AToken);
            }
            catch (AipException ex)
            {
                await RefuseAsync(context, ex.HttpStatus, ex.Code, ex.Message).ConfigureAwait(false);
                return;
            }

            var plan = Plan(rpc.Tools, request.Path);
            var scopes = await AuthorizeAsync(context, plan, token).ConfigureAwait(false);
            if (scopes is null)
            {
                return;
            }

            ForwardedIdentity? identity = null;
            if (token is not null)
            {
                try
                {
                    // Step 4 verified this token a moment ago: this reads its cached result for the identity headers.
                    identity = _identities.GetValue(await _verifier.VerifyAsync(token, null, aborted).ConfigureAwait(false), static v => new ForwardedIdentity(v));
                }
                catch (AipException ex)
                {
                    End(scopes, ex);
                    await WriteErrorAsync(context, ex.HttpStatus, ex.Code, ex.Message).ConfigureAwait(false);
                    return;
                }
            }

            var owned = body;
            body = null; // ForwardAsync hands it back to the pool once the forwarder is done with it
            await ForwardAsync(context, owned, bodyLength, identity, scopes).ConfigureAwait(false);
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    /// <summary>The actions of a request: one per tool call, or one <c>gateway:forward</c> of the path when it calls none.</summary>
    private (ActionDescriptor Action, object?[] Arguments)[] Plan(IReadOnlyList<ToolCall> tools, PathString path)
    {
        if (tools.Count == 0)
        {
            return [(ForwardAction(path.HasValue ? path.Value! : "/"), [])];
        }

        var plan = new (ActionDescriptor, object?[])[tools.Count];
        for (int i = 0; i < tools.Count; i++)
        {
            var call = tools[i];
            if (_tools.TryGetValue(call.Name, out var mapped))
            {
                plan[i] = (mapped, call.Arguments is { } arguments
                    ? ActionResolver.OrderArguments(mapped, arguments.EnumerateObject().Select(static p => new KeyValuePair<string, object?>(p.Name, p.Value)))
                    : []);
            }
            else
            {
                plan[i] = (ForwardAction(ToolResourcePrefix + call.Name), []);
            }
        }

        return plan;
    }

    private ActionDescriptor ForwardAction(string resource)
    {
        if (_forwardActions.TryGetValue(resource, out var action))
        {
            return action;
        }

        action = new ActionDescriptor(ForwardCapability, resource, RiskLevel.Medium, method: ForwardCapability, description: "Forward a request to the upstream server.");
        if (_forwardActions.Count < ForwardActionCacheLimit)
        {
            _forwardActions.TryAdd(resource, action);
        }

        return action;
    }

    /// <summary>Authorizes every action of the request through the runtime; null when one was refused (and answered).</summary>
    private async ValueTask<ActionScope[]?> AuthorizeAsync(HttpContext context, (ActionDescriptor Action, object?[] Arguments)[] plan, string? token)
    {
        var scopes = new ActionScope[plan.Length];
        int begun = 0;
        using var delegation = _config.RequireToken ? AimDelegation.Require(token) : token is null ? null : AimDelegation.Use(token);
        try
        {
            for (; begun < plan.Length; begun++)
            {
                scopes[begun] = await _runtime.BeginActionAsync(plan[begun].Action, plan[begun].Arguments, context.RequestAborted).ConfigureAwait(false);
            }

            return scopes;
        }
        catch (OperationCanceledException ex)
        {
            // The caller went away while its request was being decided: nothing is forwarded, nothing is answered.
            End(scopes.AsSpan(0, begun), ex);
            return null;
        }
        catch (AimException ex) when (ex is ActionDeniedException or ApprovalTimeoutException or AimUnavailableException or AimConfigurationException)
        {
            // Calls of the same batch authorized before the refusal never run: their outcome says so.
            End(scopes.AsSpan(0, begun), new OperationCanceledException("Another call of the same request was refused; nothing was forwarded."));
            var (status, code) = ex switch
            {
                ActionDeniedException denied when denied.ReasonCode.StartsWith("aip_", StringComparison.Ordinal) => (AipErrorCodes.HttpStatusFor(denied.ReasonCode), denied.ReasonCode),
                ActionDeniedException denied => (StatusCodes.Status403Forbidden, denied.ReasonCode),
                ApprovalTimeoutException => (StatusCodes.Status403Forbidden, "approval_timeout"),
                AimUnavailableException => (StatusCodes.Status503ServiceUnavailable, AuditUnavailableCode),
                _ => (StatusCodes.Status503ServiceUnavailable, ex.Code),
            };
            if (ex is AimUnavailableException or AimConfigurationException)
            {
                _logger.LogError(ex, "The gateway could not decide or record a request; it was refused");
            }

            await WriteErrorAsync(context, status, code, ex is AimConfigurationException ? "The gateway is not configured to decide requests." : ex.Message).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Forwards an authorized request with YARP; takes ownership of the pooled <paramref name="body"/>.</summary>
    private async Task ForwardAsync(HttpContext context, byte[]? body, int bodyLength, ForwardedIdentity? identity, ActionScope[] scopes)
    {
        BufferedBody? replay = null;
        if (body is not null)
        {
            context.Request.Body = replay = new BufferedBody(body, bodyLength);
        }

        try
        {
            var error = await _forwarder.SendAsync(context, _upstreamBase, _upstream, _requestConfig, new IdentityTransformer(identity), context.RequestAborted).ConfigureAwait(false);
            if (error == ForwarderError.None)
            {
                foreach (var scope in scopes)
                {
                    scope.Complete();
                }

                return;
            }

            var failure = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            End(scopes, failure is OperationCanceledException || error is ForwarderError.RequestCanceled or ForwarderError.ResponseBodyCanceled
                ? new OperationCanceledException("The caller went away during forwarding.", failure)
                : new HttpRequestException($"Forwarding failed: {error}.", failure));
            if (error is not (ForwarderError.RequestCanceled or ForwarderError.ResponseBodyCanceled))
            {
                _logger.LogWarning("Forwarding to {Upstream} failed: {Error} {Message}", _upstreamBase, error, failure?.Message);
            }

            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await WriteErrorAsync(context, StatusCodes.Status502BadGateway, UpstreamUnavailableCode, "The upstream server could not be reached.").ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            End(scopes, ex); // no outcome is left unrecorded (a scope that completed ignores this)
            throw;
        }
        finally
        {
            // A body the forwarder may still read must not go back to the pool (another request would reuse it).
            if (replay is not null && replay.Release())
            {
                ArrayPool<byte>.Shared.Return(body!);
            }
        }
    }

    private static void End(ReadOnlySpan<ActionScope> scopes, Exception error)
    {
        foreach (var scope in scopes)
        {
            scope.Fail(error);
        }
    }

    private static bool IsTunnel(HttpContext context) =>
        context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
        || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true
        || HttpMethods.IsConnect(context.Request.Method);

    private static bool HasBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody
        ?? (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0);

    /// <summary>A refusal before any decision (the request could not be read): answered and recorded as a denial.</summary>
    private async Task RefuseAsync(HttpContext context, int status, string code, string message)
    {
        try
        {
            var agent = _runtime.Agent;
            var pending = _runtime.Engine.RecordAsync(new AuditRecord
            {
                ActionId = Guid.CreateVersion7().ToString("N"),
                Kind = AuditEntryKind.Denied,
                AgentId = agent.Id.ToString(),
                AgentName = agent.Name,
                Capability = ForwardCapability,
                Resource = context.Request.Path.HasValue ? context.Request.Path.Value : "/",
                Risk = RiskLevel.Medium,
                Method = ForwardCapability,
                Decision = "deny",
                ReasonCode = code,
                Reason = message,
            }, waitForDurable: false, CancellationToken.None);
            if (!pending.IsCompletedSuccessfully)
            {
                await pending.ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is AimException or ArgumentException or ObjectDisposedException)
        {
            // Refused either way; the missing record is logged.
            _logger.LogError(ex, "A gateway refusal ({Code}) could not be audited", code);
        }

        await WriteErrorAsync(context, status, code, message).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = AipHttp.AuthorizationScheme;
        }

        return context.Response.WriteAsync(AipException.ErrorJson(code, message), context.RequestAborted);
    }

    // The common case (one X-AIP-Token, no Authorization) without allocating; everything else by the shared rules.
    private static string? ReadToken(IHeaderDictionary headers)
    {
        var token = headers[AipHttp.TokenHeader];
        var authorization = headers.Authorization;
        if (authorization.Count == 0 && token.Count == 1 && token[0] is { Length: > 0 } single && !char.IsWhiteSpace(single[0]) && !char.IsWhiteSpace(single[^1]))
        {
            return single;
        }

        return token.Count == 0 && authorization.Count == 0 ? null : AipHttp.ReadToken(token, authorization);
    }

    /// <summary>Reads the body into a pooled buffer; length -1 when it is over <paramref name="limit"/>.</summary>
    private static async ValueTask<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        long? declared = request.ContentLength;
        if (declared > limit)
        {
            return ([], -1);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(declared is > 0 ? (int)declared : 4096);
        int length = 0;
        try
        {
            while (length != declared)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        break;
                    }

                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)limit + 1, buffer.Length * 2L));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (length > limit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return ([], -1);
        }

        return (buffer, length);
    }

    /// <summary>
    /// True for a header the caller may not send: anything the upstream could read as <c>X-AIP-Verified-*</c>, which only
    /// the gateway sets. Compared ignoring ASCII case with <c>_</c> taken as <c>-</c> (CGI-style servers and some proxies
    /// map one to the other).
    /// </summary>
    internal static bool IsVerifiedHeader(string name)
    {
        const string Prefix = "x-aip-verified";
        if (name.Length < Prefix.Length)
        {
            return false;
        }

        for (int i = 0; i < Prefix.Length; i++)
        {
            char c = name[i] == '_' ? '-' : char.ToLowerInvariant(name[i]);
            if (c != Prefix[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Closes the upstream connections.</summary>
    public void Dispose() => _upstream.Dispose();

    /// <summary>Copies the request as YARP does, without any caller-sent identity header, and adds the verified one.</summary>
    private sealed class IdentityTransformer(ForwardedIdentity? identity) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            foreach (var name in httpContext.Request.Headers.Keys)
            {
                if (IsVerifiedHeader(name))
                {
                    proxyRequest.Headers.Remove(name);
                    proxyRequest.Content?.Headers.Remove(name);
                }
            }

            if (identity is not null)
            {
                proxyRequest.Headers.TryAddWithoutValidation(SubjectHeader, identity.Subject);
                proxyRequest.Headers.TryAddWithoutValidation(IssuerHeader, identity.Issuer);
                proxyRequest.Headers.TryAddWithoutValidation(ScopesHeader, identity.Scopes);
                proxyRequest.Headers.TryAddWithoutValidation(DepthHeader, identity.Depth);
            }
        }
    }

    /// <summary>The X-AIP-Verified-* header values of one verified token, built once per cached token.</summary>
    private sealed class ForwardedIdentity(AipVerifiedToken verified)
    {
        public string Subject { get; } = verified.Subject;

        public string Issuer { get; } = verified.Issuer;

        public string Scopes { get; } = string.Join(' ', verified.Scopes);

        public string Depth { get; } = verified.Depth.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The inspected body, replayed to the forwarder from its pooled buffer. Reads after <see cref="Release"/> fail instead of
    /// seeing another request's bytes.
    /// </summary>
    private sealed class BufferedBody(byte[] buffer, int length) : Stream
    {
        private readonly Lock _lock = new();
        private byte[]? _buffer = buffer;
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        /// <summary>Stops serving reads; true when the buffer may go back to the pool.</summary>
        public bool Release()
        {
            lock (_lock)
            {
                bool held = _buffer is not null;
                _buffer = null;
                return held;
            }
        }

        public override int Read(Span<byte> destination)
        {
            lock (_lock)
            {
                var source = _buffer ?? throw new ObjectDisposedException(nameof(BufferedBody));
                int count = Math.Min(destination.Length, length - _position);
                source.AsSpan(_position, count).CopyTo(destination);
                _position += count;
                return count;
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : new(Read(destination.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
