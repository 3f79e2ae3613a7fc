using System.Diagnostics.Metrics;
using Aim.Protocol;
using Aim.Server.Storage;
using Microsoft.Extensions.Primitives;

namespace Aim.Server.Security;

/// <summary>
/// Authenticates requests: API keys for people and tools, RFC 9421 signatures for agents. Agent requests are
/// accepted only when the body matches <c>Content-Digest</c>, the signature covers method, target URI and digest,
/// <c>created</c> is within the allowed skew, the nonce was never used with that key, and the key belongs to an
/// active agent (a rotated-out key only until its overlap ends).
/// </summary>
internal sealed class RequestAuth(ServerStore store, AgentAccessCache cache, AimServerOptions options, ServerMetrics metrics)
{
    private readonly TimeProvider _time = options.TimeProvider;

    public async Task<ApiCaller> ApiKeyAsync(HttpContext context)
    {
        string? presented = null;
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = authorization[7..].Trim();
        }
        else if (context.Request.Headers.TryGetValue("X-Api-Key", out var header))
        {
            presented = header.ToString().Trim();
        }

        if (string.IsNullOrEmpty(presented))
        {
            throw ApiException.Unauthorized(ErrorCodes.ApiKeyMissing, "An API key is required (Authorization: Bearer <key>).");
        }

        if (presented.Length > 512)
        {
            throw ApiException.Unauthorized(ErrorCodes.ApiKeyInvalid, "The API key is not valid.");
        }

        var hash = ApiKeys.Hash(presented);
        var key = await store.FindApiKeyAsync(ApiKeys.IdOf(hash)).ConfigureAwait(false);
        if (key is null || key.Revoked is not null || !ApiKeys.Matches(key.Hash, hash))
        {
            throw ApiException.Unauthorized(ErrorCodes.ApiKeyInvalid, "The API key is not valid.");
        }

        return new ApiCaller(key);
    }

    /// <summary>Reads the body and checks the agent's signature over it, against the agent as stored now.</summary>
    /// <param name="context">The request.</param>
    /// <param name="deferNonce">When true the caller stores <see cref="AgentCaller.Nonce"/> itself, in the same transaction as its own write
    /// (one commit instead of two); it must refuse the request when the nonce was used.</param>
    public async Task<AgentCaller> AgentAsync(HttpContext context, bool deferNonce = false)
    {
        var body = await ReadBodyAsync(context, options.MaxBodyBytes).ConfigureAwait(false);
        var (parsed, _) = await CheckSignatureAsync(context, body, null).ConfigureAwait(false);
        var found = await store.FindAgentByKeyAsync(parsed.KeyId).ConfigureAwait(false);
        if (found is not { } f)
        {
            throw Fail(ErrorCodes.UnknownKey, "The signing key belongs to no registered agent.");
        }

        return await AdmitAsync(context, parsed, body, f.Agent, f.Key, null, deferNonce).ConfigureAwait(false);
    }

    /// <summary>
    /// Like <see cref="AgentAsync"/> with a deferred nonce, but the agent, key and grants may come from <see cref="AgentAccessCache"/>:
    /// the caller must commit its write only if <see cref="AgentAccess.Generation"/> is still current, and otherwise call
    /// <see cref="ReadmitAsync"/> and decide again.
    /// </summary>
    public async Task<AgentCaller> CachedAgentAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context, options.MaxBodyBytes).ConfigureAwait(false);
        var (parsed, _) = await CheckSignatureAsync(context, body, null).ConfigureAwait(false);
        var access = await cache.FindAsync(parsed.KeyId).ConfigureAwait(false);
        if (access is not null && (access.Agent.Status != AgentStatus.Active || access.Key.NotAfter is not null))
        {
            // The write's generation check only catches an admission that became stale; a refusal must be confirmed on current
            // data (the agent may have been reactivated), and an overlap end is checked on current data too.
            access = await cache.LoadAsync(parsed.KeyId).ConfigureAwait(false);
        }

        if (access is null)
        {
            throw Fail(ErrorCodes.UnknownKey, "The signing key belongs to no registered agent.");
        }

        return await AdmitAsync(context, parsed, body, access.Agent, access.Key, access, deferNonce: true).ConfigureAwait(false);
    }

    /// <summary>Checks a request admitted on cached data again, on data read from the database now (the agent changed meanwhile).</summary>
    public async Task<AgentCaller> ReadmitAsync(HttpContext context, AgentCaller stale)
    {
        var parsed = stale.Signature;
        var access = await cache.LoadAsync(parsed.KeyId).ConfigureAwait(false)
            ?? throw Fail(ErrorCodes.UnknownKey, "The signing key belongs to no registered agent.");
        return await AdmitAsync(context, parsed, stale.Body, access.Agent, access.Key, access, deferNonce: true).ConfigureAwait(false);
    }

    private async Task<AgentCaller> AdmitAsync(HttpContext context, ParsedSignature parsed, byte[] body, AgentRow agent, AgentKeyRow key, AgentAccess? access, bool deferNonce)
    {
        if (!HttpMessageSignature.Verify(parsed, context.Request.Method, TargetUri(context), Header(context, "Content-Digest")!, key.PublicKey))
        {
            await store.AddSecurityEventAsync(agent.OrgId, agent.Id, ErrorCodes.SignatureInvalid).ConfigureAwait(false);
            throw Fail(ErrorCodes.SignatureInvalid, "The request signature does not verify.");
        }

        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (key.NotAfter is { } until && until <= now)
        {
            throw Fail(ErrorCodes.UnknownKey, "The signing key was rotated out.");
        }

        if (agent.Status == AgentStatus.Revoked)
        {
            await store.AddSecurityEventAsync(agent.OrgId, agent.Id, ErrorCodes.AgentRevoked).ConfigureAwait(false);
            throw new ApiException(403, ErrorCodes.AgentRevoked, "The agent is revoked.");
        }

        if (agent.Status == AgentStatus.Suspended)
        {
            throw new ApiException(403, ErrorCodes.AgentSuspended, "The agent is suspended.");
        }

        if (!deferNonce)
        {
            await UseNonceAsync(parsed, agent).ConfigureAwait(false);
        }

        return new AgentCaller(agent, key, body) { Nonce = (parsed.KeyId, parsed.Nonce, NonceExpiry(parsed)), Signature = parsed, Access = access };
    }

    /// <summary>Checks a signature made by a key the request itself introduces (agent registration, proof of possession).</summary>
    public async Task<(ParsedSignature Signature, byte[] Body)> SelfSignedAsync(HttpContext context, byte[] publicKey)
    {
        var body = await ReadBodyAsync(context, options.MaxBodyBytes).ConfigureAwait(false);
        var (parsed, _) = await CheckSignatureAsync(context, body, publicKey).ConfigureAwait(false);
        if (!await store.TryUseNonceAsync(parsed.KeyId, parsed.Nonce, NonceExpiry(parsed)).ConfigureAwait(false))
        {
            throw Fail(ErrorCodes.NonceReplayed, "This request was seen before (replayed nonce).");
        }

        return (parsed, body);
    }

    public static async Task<byte[]> ReadBodyAsync(HttpContext context, int limit)
    {
        if (context.Request.ContentLength is { } declared && declared > limit)
        {
            throw new ApiException(413, ErrorCodes.BodyTooLarge, $"The body is larger than {limit} bytes.");
        }

        try
        {
            if (context.Request.ContentLength is { } length)
            {
                // The usual case: one exact allocation, no growing buffer. Kestrel refuses a body longer than declared.
                var exact = new byte[length];
                int read = await context.Request.Body.ReadAtLeastAsync(exact, exact.Length, throwOnEndOfStream: false, context.RequestAborted).ConfigureAwait(false);
                return read == exact.Length ? exact : exact[..read];
            }

            return await ReadChunkedAsync(context, limit).ConfigureAwait(false);
        }
        catch (BadHttpRequestException)
        {
            throw new ApiException(413, ErrorCodes.BodyTooLarge, $"The body is larger than {limit} bytes.");
        }
    }

    private static async Task<byte[]> ReadChunkedAsync(HttpContext context, int limit)
    {
        using var buffer = new MemoryStream();
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            while (true)
            {
                int n = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false);
                if (n == 0)
                {
                    return buffer.ToArray();
                }

                if (buffer.Length + n > limit)
                {
                    throw new ApiException(413, ErrorCodes.BodyTooLarge, $"The body is larger than {limit} bytes.");
                }

                buffer.Write(chunk, 0, n);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    public static string TargetUri(HttpContext context)
    {
        var r = context.Request;
        return $"{r.Scheme}://{r.Host.Value}{r.PathBase.Value}{r.Path.Value}{r.QueryString.Value}";
    }

    private async Task<(ParsedSignature, bool)> CheckSignatureAsync(HttpContext context, byte[] body, byte[]? publicKey)
    {
        string? digest = Header(context, "Content-Digest");
        string? input = Header(context, "Signature-Input");
        string? signature = Header(context, "Signature");
        if (digest is null || input is null || signature is null)
        {
            throw Fail(ErrorCodes.SignatureMissing, "Agent requests need Content-Digest, Signature-Input and Signature headers.");
        }

        if (!HttpMessageSignature.TryParse(input, signature, out var parsed))
        {
            throw Fail(ErrorCodes.SignatureInvalid, "The signature headers are malformed or use another profile.");
        }

        if (!string.Equals(digest, HttpMessageSignature.ContentDigest(body), StringComparison.Ordinal))
        {
            throw Fail(ErrorCodes.DigestMismatch, "Content-Digest does not match the body.");
        }

        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - parsed.Created) > (long)options.ClockSkew.TotalSeconds)
        {
            throw Fail(ErrorCodes.SignatureExpired, $"The signature's created time is more than {options.ClockSkew.TotalSeconds:0} s from the server clock.");
        }

        if (publicKey is not null
            && !HttpMessageSignature.Verify(parsed, context.Request.Method, TargetUri(context), digest, publicKey))
        {
            throw Fail(ErrorCodes.SignatureInvalid, "The request signature does not verify.");
        }

        await Task.CompletedTask.ConfigureAwait(false);
        return (parsed, true);
    }

    /// <summary>The refusal of a replayed nonce (also recorded as a security event).</summary>
    public async Task<ApiException> ReplayedAsync(AgentRow agent)
    {
        await store.AddSecurityEventAsync(agent.OrgId, agent.Id, ErrorCodes.NonceReplayed).ConfigureAwait(false);
        return Fail(ErrorCodes.NonceReplayed, "This request was seen before (replayed nonce).");
    }

    private async Task UseNonceAsync(ParsedSignature parsed, AgentRow agent)
    {
        if (!await store.TryUseNonceAsync(parsed.KeyId, parsed.Nonce, NonceExpiry(parsed)).ConfigureAwait(false))
        {
            await store.AddSecurityEventAsync(agent.OrgId, agent.Id, ErrorCodes.NonceReplayed).ConfigureAwait(false);
            throw Fail(ErrorCodes.NonceReplayed, "This request was seen before (replayed nonce).");
        }
    }

    // A nonce must be remembered as long as its signature could still be accepted.
    private long NonceExpiry(ParsedSignature parsed) => (parsed.Created + (long)options.ClockSkew.TotalSeconds + 1) * 1000;

    private ApiException Fail(string code, string message)
    {
        metrics.SignatureFailures.Add(1, new KeyValuePair<string, object?>("code", code));
        return ApiException.Unauthorized(code, message);
    }

    private static string? Header(HttpContext context, string name)
    {
        StringValues values = context.Request.Headers[name];
        return values.Count == 1 ? values[0] : null;
    }
}

/// <summary>The server's metrics (<c>Aim.Server</c> meter).</summary>
internal sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "Aim.Server";

    private readonly Meter _meter = new(MeterName);

    public ServerMetrics()
    {
        Verifications = _meter.CreateCounter<long>("aim.server.verifications", description: "Verification requests by status.");
        SignatureFailures = _meter.CreateCounter<long>("aim.server.signature_failures", description: "Refused agent requests by error code.");
        AuditAppends = _meter.CreateCounter<long>("aim.server.audit_appends", description: "Audit entries appended.");
        VerificationDuration = _meter.CreateHistogram<double>("aim.server.verification_duration", "ms", "Time to decide a verification (excluding human waits).");
    }

    public Counter<long> Verifications { get; }

    public Counter<long> SignatureFailures { get; }

    public Counter<long> AuditAppends { get; }

    public Histogram<double> VerificationDuration { get; }

    public void Dispose() => _meter.Dispose();
}
