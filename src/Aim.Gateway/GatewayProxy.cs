using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Tokens;
using Aim.Tokens.Http;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aim.Gateway;

/// <summary>
/// The gateway's one request path: find the AIP token (headers, else A2A <c>params.metadata.aip_token</c>), verify it
/// (V1-V7, and for MCP <c>tools/call</c> that it allows <c>tool:&lt;name&gt;</c>), apply the policy file, audit the
/// decision, then forward to the upstream with the verified identity in <c>X-AIP-Verified-*</c> headers. Refusals are
/// answered here (401/403 with <c>{"error":{"code","message"}}</c>) and never reach the upstream.
/// </summary>
public sealed class GatewayProxy : IDisposable, IAsyncDisposable
{
    /// <summary>Header with the verified holder (the token's <c>sub</c> or last delegate).</summary>
    public const string SubjectHeader = "X-AIP-Verified-Subject";

    /// <summary>Header with the verified root issuer.</summary>
    public const string IssuerHeader = "X-AIP-Verified-Issuer";

    /// <summary>Header with the effective scopes, space separated.</summary>
    public const string ScopesHeader = "X-AIP-Verified-Scopes";

    /// <summary>Header with the delegation depth.</summary>
    public const string DepthHeader = "X-AIP-Verified-Depth";

    // Hop-by-hop headers (RFC 9110 7.6.1) and Host are the gateway's own business on each connection, never forwarded.
    private static readonly FrozenSet<string> HopByHop = new[]
    {
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
        "Proxy-Connection",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private const string VerifiedHeaderPrefix = "X-AIP-Verified-";

    // Decisions waiting to be handed to the audit log; a request that finds the queue full is refused (fail closed).
    private const int AuditQueueCapacity = 16_384;

    private readonly GatewayConfig _config;
    private readonly AipVerifier _verifier;
    private readonly AimRuntime _runtime;
    private readonly GatewayDecisionLog _decisions;
    private readonly HttpMessageInvoker _upstream;
    private readonly string _upstreamBase;
    private readonly ILogger _logger;
    private readonly ConditionalWeakTable<AipVerifiedToken, ForwardedIdentity> _identities = [];

    /// <summary>Creates the proxy.</summary>
    /// <param name="config">The validated policy.</param>
    /// <param name="runtime">The gateway's Aim runtime: its engine signs and stores the audit records.</param>
    /// <param name="logger">Operational log (never tokens); the request path logs only warnings and errors.</param>
    /// <param name="timeProvider">The clock for token checks.</param>
    /// <exception cref="AimConfigurationException">The config is invalid.</exception>
    public GatewayProxy(GatewayConfig config, AimRuntime runtime, ILogger logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(logger);
        config.Validate();
        _config = config;
        _runtime = runtime;
        _logger = logger;
        _decisions = new GatewayDecisionLog(runtime, logger, TimeSpan.FromMilliseconds(config.AuditWindowMilliseconds), AuditQueueCapacity);

        // The verifier caches each token that passed V1-V5, so a repeated token costs a lookup, not a signature check.
        _verifier = new AipVerifier(new AipVerifierOptions
        {
            TrustStore = new InMemoryTrustStore([.. config.TrustedKeys]),
            TimeProvider = timeProvider ?? TimeProvider.System,
        });
        _upstreamBase = config.Upstream.TrimEnd('/') + "/";
        _upstream = new HttpMessageInvoker(CreateUpstreamHandler(config), disposeHandler: true);
    }

    /// <summary>How many verified tokens the gateway's verifier remembers (a repeated token skips the signature check).</summary>
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

    /// <summary>Handles one request end to end.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var aborted = context.RequestAborted;
        if (_decisions.Failure is not null)
        {
            await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, GatewayDecisionLog.UnavailableCode, "The gateway cannot audit decisions; nothing is forwarded.").ConfigureAwait(false);
            return;
        }

        // JSON-RPC bodies (MCP, A2A) are read into a pooled buffer to find the tools and an A2A token; anything else
        // streams through.
        byte[]? body = null;
        int bodyLength = 0;
        try
        {
            var rpc = JsonRpcInspection.None;
            if (HttpMethods.IsPost(request.Method) && IsJson(request.ContentType))
            {
                (body, bodyLength) = await ReadBodyAsync(request, _config.MaxBodyBytes, aborted).ConfigureAwait(false);
                if (bodyLength < 0)
                {
                    await RefuseAsync(context, null, null, "request_too_large", $"JSON-RPC bodies are limited to {_config.MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge).ConfigureAwait(false);
                    return;
                }

                if (JsonRpcInspection.Inspect(body.AsMemory(0, bodyLength)) is not { } inspected)
                {
                    // What the gateway cannot read it cannot check (a tool, a duplicate key): refused, never guessed.
                    await RefuseAsync(context, null, null, "request_malformed", "The JSON body is not valid JSON (or repeats a member name).", StatusCodes.Status400BadRequest).ConfigureAwait(false);
                    return;
                }

                rpc = inspected;
            }

            var tools = rpc.Tools;
            string? token;
            try
            {
                token = ReadToken(request.Headers) ?? (rpc.TokenError is { } error ? throw error : rpc.A2AToken);
            }
            catch (AipException ex)
            {
                await RefuseAsync(context, tools, null, ex.Code, ex.Message, ex.HttpStatus).ConfigureAwait(false);
                return;
            }

            AipVerifiedToken verified;
            try
            {
                verified = await _verifier.VerifyAsync(token, null, aborted).ConfigureAwait(false);
                foreach (var tool in tools)
                {
                    if (!verified.Allows("tool:" + tool))
                    {
                        throw new AipException(AipErrorCodes.ScopeInsufficient, $"The token does not allow tool:{tool}.");
                    }
                }

                CheckPolicy(verified, tools);
            }
            catch (AipException ex)
            {
                await RefuseAsync(context, tools, token is null ? null : SafeSubject(token), ex.Code, ex.Message, ex.HttpStatus).ConfigureAwait(false);
                return;
            }

            try
            {
                _decisions.Record(Decision(tools, verified.Subject, "allow", null, null, request.Path, verified));
            }
            catch (AimUnavailableException ex)
            {
                // Fail closed: a call the log cannot hold is not forwarded.
                _logger.LogError(ex, "A gateway decision could not be audited; the request is refused");
                await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, GatewayDecisionLog.UnavailableCode, "The gateway cannot audit this request; it was not forwarded.").ConfigureAwait(false);
                return;
            }

            var owned = body;
            body = null; // ForwardAsync returns it to the pool once the upstream handler is done with it
            await ForwardAsync(context, owned, bodyLength, verified).ConfigureAwait(false);
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    /// <summary>The policy file's limits, on a token that already verified.</summary>
    /// <exception cref="AipException">A limit is exceeded (the AIP code of the rule).</exception>
    internal void CheckPolicy(AipVerifiedToken verified, IReadOnlyList<string> tools)
    {
        if (_config.MaxDepth is { } maxDepth && verified.Depth > maxDepth)
        {
            throw new AipException(AipErrorCodes.DepthExceeded, $"The delegation depth {verified.Depth} exceeds the gateway's limit of {maxDepth}.");
        }

        if (_config.MaxBudgetUsd is { } maxBudget && (verified.BudgetUsd is null || verified.BudgetUsd > maxBudget))
        {
            throw new AipException(AipErrorCodes.BudgetExceeded, $"The token's budget exceeds the gateway's limit of {maxBudget} USD.");
        }

        if (_config.MaxTtlSeconds is { } maxTtl && (verified.ExpiresAt - verified.IssuedAt).TotalSeconds > maxTtl)
        {
            throw new AipException(AipErrorCodes.TokenExpired, $"The token's lifetime exceeds the gateway's limit of {maxTtl} seconds.");
        }

        if (_config.AllowedTools is { } allowed && tools.Count > 0)
        {
            if (!allowed.TryGetValue(verified.Subject, out var list))
            {
                throw new AipException(AipErrorCodes.ScopeInsufficient, $"{verified.Subject} may call no tool through this gateway.");
            }

            foreach (var tool in tools)
            {
                if (!list.Contains("*") && !list.Contains(tool))
                {
                    throw new AipException(AipErrorCodes.ScopeInsufficient, $"{verified.Subject} may not call the tool '{tool}'.");
                }
            }
        }
    }

    /// <summary>Forwards a verified request; takes ownership of the pooled <paramref name="body"/>.</summary>
    private async Task ForwardAsync(HttpContext context, byte[]? body, int bodyLength, AipVerifiedToken verified)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        using var outgoing = new HttpRequestMessage(HttpMethod.Parse(request.Method), _upstreamBase + request.Path.Value.AsSpan().TrimStart('/').ToString() + request.QueryString.Value)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        PooledBodyContent? pooled = null;
        if (body is not null)
        {
            outgoing.Content = pooled = new PooledBodyContent(body, bodyLength);
        }
        else if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            outgoing.Content = new StreamContent(request.Body);
        }

        try
        {
            CopyRequestHeaders(request.Headers, outgoing);
            var identity = _identities.GetValue(verified, static v => new ForwardedIdentity(v));
            outgoing.Headers.TryAddWithoutValidation(SubjectHeader, identity.Subject);
            outgoing.Headers.TryAddWithoutValidation(IssuerHeader, identity.Issuer);
            outgoing.Headers.TryAddWithoutValidation(ScopesHeader, identity.Scopes);
            outgoing.Headers.TryAddWithoutValidation(DepthHeader, identity.Depth);

            HttpResponseMessage response;
            try
            {
                response = await _upstream.SendAsync(outgoing, aborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !aborted.IsCancellationRequested)
            {
                _logger.LogWarning("Upstream {Upstream} failed: {Error}", _upstreamBase, ex.Message);
                await WriteErrorAsync(context, StatusCodes.Status502BadGateway, "upstream_unavailable", "The upstream server could not be reached.").ConfigureAwait(false);
                return;
            }

            using (response)
            {
                var target = context.Response;
                target.StatusCode = (int)response.StatusCode;
                CopyResponseHeaders(response.Headers.NonValidated, target.Headers);
                CopyResponseHeaders(response.Content.Headers.NonValidated, target.Headers);

                // Streamed straight into Kestrel's pipe, flushed per chunk, so server-sent events reach the client as
                // they come and a small JSON answer goes out in one write.
                var writer = target.BodyWriter;
                await using var stream = await response.Content.ReadAsStreamAsync(aborted).ConfigureAwait(false);
                while (true)
                {
                    int read = await stream.ReadAsync(writer.GetMemory(8192), aborted).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    writer.Advance(read);
                    var flushed = await writer.FlushAsync(aborted).ConfigureAwait(false);
                    if (flushed.IsCompleted || flushed.IsCanceled)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            // A body the handler may still be sending must not go back to the pool (another request would reuse it).
            if (body is not null && pooled!.Release())
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    private static void CopyRequestHeaders(IHeaderDictionary headers, HttpRequestMessage outgoing)
    {
        foreach (var (name, values) in headers)
        {
            // Incoming X-AIP-Verified-* headers are the caller's claims, not ours: never forwarded.
            if (HopByHop.Contains(name) || name.StartsWith(VerifiedHeaderPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (values.Count == 1)
            {
                string value = values[0]!;
                if (!outgoing.Headers.TryAddWithoutValidation(name, value))
                {
                    outgoing.Content?.Headers.TryAddWithoutValidation(name, value);
                }
            }
            else if (!outgoing.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
    }

    private static void CopyResponseHeaders(HttpHeadersNonValidated headers, IHeaderDictionary target)
    {
        foreach (var (name, values) in headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (values.Count == 1)
            {
                target[name] = values.ToString();
            }
            else
            {
                var all = new string[values.Count];
                int i = 0;
                foreach (var value in values)
                {
                    all[i++] = value;
                }

                target[name] = all;
            }
        }
    }

    private async Task RefuseAsync(HttpContext context, IReadOnlyList<string>? tools, string? subject, string code, string message, int status)
    {
        try
        {
            _decisions.Record(Decision(tools ?? [], subject, "deny", code, message, context.Request.Path, null));
        }
        catch (AimUnavailableException ex)
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

    private AuditRecord Decision(IReadOnlyList<string> tools, string? subject, string decision, string? code, string? reason, PathString path, AipVerifiedToken? verified)
    {
        var details = new JsonObject { ["front_door"] = "aip-gateway", ["path"] = path.Value };
        if (verified is not null)
        {
            details["issuer"] = verified.Issuer;
            details["depth"] = verified.Depth;
        }

        var agent = _runtime.Agent;
        return new AuditRecord
        {
            ActionId = Guid.CreateVersion7().ToString("N"),
            Kind = decision == "allow" ? AuditEntryKind.Authorized : AuditEntryKind.Denied,
            AgentId = agent.Id.ToString(),
            AgentName = agent.Name,
            Capability = "gateway:forward",
            Resource = tools.Count == 0 ? null : tools.Count == 1 ? tools[0] : string.Join(',', tools),
            Risk = RiskLevel.Medium,
            Decision = decision,
            ReasonCode = code,
            Reason = reason,
            OnBehalfOf = subject,
            Details = details,
        };
    }

    // Audit only: the holder named by an unverified token is what the caller claimed, recorded as such (AIP ids are
    // ASCII; anything else is not worth keeping and could not be signed into the log).
    private static string? SafeSubject(string token)
    {
        try
        {
            if (!Aim.Tokens.Compact.CompactToken.LooksCompact(token))
            {
                return null;
            }

            string subject = Aim.Tokens.Compact.CompactToken.Decode(token).Subject;
            return subject.Length <= 512 && Ascii.IsValid(subject) ? "claimed:" + subject : "claimed:(unreadable)";
        }
        catch (AimException)
        {
            return null;
        }
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

    private static bool IsJson(string? contentType) =>
        contentType is not null && contentType.Contains("json", StringComparison.OrdinalIgnoreCase);

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

        return (buffer, length > limit ? -1 : length);
    }

    /// <summary>Completes once every decision made so far is durably in the audit log.</summary>
    /// <exception cref="AimUnavailableException">The audit log failed or is closed.</exception>
    public Task FlushAuditAsync(CancellationToken cancellationToken = default) => _decisions.FlushAsync(cancellationToken);

    /// <summary>Stores the queued decisions, then closes the upstream connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await _decisions.DisposeAsync().ConfigureAwait(false);
        _upstream.Dispose();
    }

    /// <summary>Stores the queued decisions (blocking), then closes the upstream connections.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The X-AIP-Verified-* header values of one verified token, built once per cached token.</summary>
    private sealed class ForwardedIdentity(AipVerifiedToken verified)
    {
        public string Subject { get; } = verified.Subject;

        public string Issuer { get; } = verified.Issuer;

        public string Scopes { get; } = string.Join(' ', verified.Scopes);

        public string Depth { get; } = verified.Depth.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A request body in a pooled buffer that knows whether the handler may still be reading it.</summary>
    private sealed class PooledBodyContent : HttpContent
    {
        private const int Idle = 0, Sending = 1, Sent = 2, Released = 3;
        private readonly byte[] _buffer;
        private readonly int _length;
        private int _state;

        public PooledBodyContent(byte[] buffer, int length)
        {
            _buffer = buffer;
            _length = length;
        }

        /// <summary>True when the buffer may go back to the pool (never sent, or sent completely).</summary>
        public bool Release() => Interlocked.CompareExchange(ref _state, Released, Idle) is Idle or Sent;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            if (Interlocked.CompareExchange(ref _state, Sending, Idle) != Idle)
            {
                throw new ObjectDisposedException(nameof(PooledBodyContent));
            }

            await stream.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _state, Sent);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
