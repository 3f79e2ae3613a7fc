using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Tokens;
using Aim.Tokens.A2A;
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
public sealed class GatewayProxy : IDisposable
{
    /// <summary>Header with the verified holder (the token's <c>sub</c> or last delegate).</summary>
    public const string SubjectHeader = "X-AIP-Verified-Subject";

    /// <summary>Header with the verified root issuer.</summary>
    public const string IssuerHeader = "X-AIP-Verified-Issuer";

    /// <summary>Header with the effective scopes, space separated.</summary>
    public const string ScopesHeader = "X-AIP-Verified-Scopes";

    /// <summary>Header with the delegation depth.</summary>
    public const string DepthHeader = "X-AIP-Verified-Depth";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
        "Proxy-Connection",
    };

    private readonly GatewayConfig _config;
    private readonly AipVerifier _verifier;
    private readonly AimRuntime _runtime;
    private readonly HttpMessageInvoker _upstream;
    private readonly Uri _upstreamBase;
    private readonly ILogger _logger;

    /// <summary>Creates the proxy.</summary>
    /// <param name="config">The validated policy.</param>
    /// <param name="runtime">The gateway's Aim runtime: its engine signs and stores the audit records.</param>
    /// <param name="logger">Operational log (never tokens).</param>
    /// <param name="timeProvider">The clock for token checks.</param>
    public GatewayProxy(GatewayConfig config, AimRuntime runtime, ILogger logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(runtime);
        config.Validate();
        _config = config;
        _runtime = runtime;
        _logger = logger;
        _verifier = new AipVerifier(new AipVerifierOptions
        {
            TrustStore = new InMemoryTrustStore([.. config.TrustedKeys]),
            TimeProvider = timeProvider ?? TimeProvider.System,
        });
        _upstreamBase = new Uri(config.Upstream.TrimEnd('/') + "/");
        _upstream = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });
    }

    /// <summary>Handles one request end to end.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var aborted = context.RequestAborted;

        // JSON-RPC bodies (MCP, A2A) are read to find the tool and an A2A token; anything else streams through.
        byte[]? body = null;
        JsonNode? rpc = null;
        if (HttpMethods.IsPost(request.Method) && IsJson(request.ContentType))
        {
            body = await ReadBodyAsync(request, _config.MaxBodyBytes, aborted).ConfigureAwait(false);
            if (body is null)
            {
                await RefuseAsync(context, null, null, "request_too_large", $"JSON-RPC bodies are limited to {_config.MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge).ConfigureAwait(false);
                return;
            }

            try
            {
                rpc = JsonNode.Parse(body);
            }
            catch (JsonException)
            {
                rpc = null; // not JSON-RPC after all: verified like any other request, forwarded as is
            }
        }

        var tools = ToolsCalled(rpc);
        string? token;
        try
        {
            token = AipHttp.ReadToken(request.Headers[AipHttp.TokenHeader], request.Headers.Authorization) ?? A2AToken(rpc);
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

        Record(tools, verified.Subject, "allow", null, null, request.Path, verified);
        await ForwardAsync(context, body, verified).ConfigureAwait(false);
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

    /// <summary>The MCP tools a JSON-RPC message (or batch) calls.</summary>
    internal static IReadOnlyList<string> ToolsCalled(JsonNode? rpc)
    {
        List<string>? tools = null;
        foreach (var message in rpc is JsonArray batch ? batch : rpc is null ? [] : [rpc])
        {
            if (message is JsonObject o && o["method"] is JsonValue m && m.TryGetValue(out string? method) && method == "tools/call")
            {
                string name = o["params"]?["name"] is JsonValue n && n.TryGetValue(out string? s) ? s : string.Empty;
                (tools ??= []).Add(name);
            }
        }

        return tools ?? (IReadOnlyList<string>)[];
    }

    private static string? A2AToken(JsonNode? rpc) => rpc is JsonObject o ? AipA2A.ReadToken(o) : null;

    private async Task ForwardAsync(HttpContext context, byte[]? body, AipVerifiedToken verified)
    {
        var request = context.Request;
        var target = new Uri(_upstreamBase, request.Path.Value!.TrimStart('/') + request.QueryString.Value);
        using var outgoing = new HttpRequestMessage(new HttpMethod(request.Method), target) { Version = HttpVersion.Version11 };
        if (body is not null)
        {
            outgoing.Content = new ByteArrayContent(body);
        }
        else if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            outgoing.Content = new StreamContent(request.Body);
        }

        foreach (var header in request.Headers)
        {
            // Incoming X-AIP-Verified-* headers are the caller's claims, not ours: never forwarded.
            if (HopByHop.Contains(header.Key) || header.Key.StartsWith("X-AIP-Verified-", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!outgoing.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value);
            }
        }

        outgoing.Headers.TryAddWithoutValidation(SubjectHeader, verified.Subject);
        outgoing.Headers.TryAddWithoutValidation(IssuerHeader, verified.Issuer);
        outgoing.Headers.TryAddWithoutValidation(ScopesHeader, string.Join(' ', verified.Scopes));
        outgoing.Headers.TryAddWithoutValidation(DepthHeader, verified.Depth.ToString(System.Globalization.CultureInfo.InvariantCulture));

        HttpResponseMessage response;
        try
        {
            response = await _upstream.SendAsync(outgoing, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            _logger.LogWarning("Upstream {Upstream} failed: {Error}", _upstreamBase, ex.Message);
            await WriteErrorAsync(context, StatusCodes.Status502BadGateway, "upstream_unavailable", "The upstream server could not be reached.").ConfigureAwait(false);
            return;
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (!HopByHop.Contains(header.Key))
                {
                    context.Response.Headers[header.Key] = header.Value.ToArray();
                }
            }

            // Streamed chunk by chunk with a flush each time, so server-sent events reach the client as they come.
            await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted).ConfigureAwait(false);
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
    }

    private async Task RefuseAsync(HttpContext context, IReadOnlyList<string>? tools, string? subject, string code, string message, int status)
    {
        Record(tools ?? [], subject, "deny", code, message, context.Request.Path, null);
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

    private void Record(IReadOnlyList<string> tools, string? subject, string decision, string? code, string? reason, string path, AipVerifiedToken? verified)
    {
        var details = new JsonObject { ["front_door"] = "aip-gateway", ["path"] = path };
        if (verified is not null)
        {
            details["issuer"] = verified.Issuer;
            details["depth"] = verified.Depth;
        }

        var agent = _runtime.Agent;
        var record = new AuditRecord
        {
            ActionId = Guid.CreateVersion7().ToString("N"),
            Kind = decision == "allow" ? AuditEntryKind.Authorized : AuditEntryKind.Denied,
            AgentId = agent.Id.ToString(),
            AgentName = agent.Name,
            Capability = "gateway:forward",
            Resource = tools.Count == 0 ? null : string.Join(',', tools),
            Risk = RiskLevel.Medium,
            Decision = decision,
            ReasonCode = code,
            Reason = reason,
            OnBehalfOf = subject,
            Details = details,
        };
        var pending = _runtime.Engine.RecordAsync(record, waitForDurable: false, CancellationToken.None);
        if (!pending.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(pending);
        }
    }

    private async Task ObserveAsync(ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "The gateway could not record a decision");
        }
    }

    // Audit only: the holder named by an unverified token is what the caller claimed, recorded as such.
    private static string? SafeSubject(string token)
    {
        try
        {
            return Aim.Tokens.Compact.CompactToken.LooksCompact(token) ? "claimed:" + Aim.Tokens.Compact.CompactToken.Decode(token).Subject : null;
        }
        catch (AimException)
        {
            return null;
        }
    }

    private static bool IsJson(string? contentType) =>
        contentType is not null && contentType.Contains("json", StringComparison.OrdinalIgnoreCase);

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <inheritdoc/>
    public void Dispose() => _upstream.Dispose();
}
