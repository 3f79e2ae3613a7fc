using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Aim.Crypto;
using Aim.Identity;
using Aim.Protocol;
using Aim.Server.Security;
using Aim.Server.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Aim.Server.Compat;

/// <summary>An agent request admitted under AIM's signature scheme, as the rest of the server sees agents.</summary>
/// <param name="Caller">The agent, its key and the exact body; <see cref="AgentCaller.Nonce"/> holds the signature's replay key.</param>
/// <param name="PublicKey">The signing key as the request sent it (standard base64).</param>
/// <param name="Timestamp">The signed <c>X-Timestamp</c> as sent (Unix seconds).</param>
/// <param name="Signature">The signature as the request sent it (standard base64).</param>
/// <param name="Path">The signed request path.</param>
internal sealed record AimCaller(AgentCaller Caller, string PublicKey, string Timestamp, string Signature, string Path)
{
    /// <summary>What the agent signed, kept as evidence with audit entries: anyone can check it against the agent's key.</summary>
    public System.Text.Json.Nodes.JsonObject Evidence(string method) => new()
    {
        ["scheme"] = "aim-ed25519/1",
        ["method"] = method,
        ["path"] = Path,
        ["timestamp"] = Timestamp,
        ["body"] = Encoding.UTF8.GetString(Caller.Body),
        ["public_key"] = PublicKey,
        ["signature"] = Signature,
    };
}

/// <summary>
/// AIM's request signature: <c>X-Agent-ID</c>, <c>X-Signature</c>, <c>X-Timestamp</c> and <c>X-Public-Key</c>, an Ed25519
/// signature over <c>METHOD\nPATH\nTIMESTAMP</c> (plus <c>\nBODY</c> when there is a body). The scheme has no nonce, so a
/// captured request could be sent again while its timestamp is acceptable: every accepted signature is stored (in the
/// same <c>nonces</c> table as RFC 9421 nonces, so a replay to another replica is refused too) until its timestamp leaves
/// the window, and a second use is refused with <c>signature_replayed</c>. What is stored is the SHA-256 of the signed
/// message, not the signature text: a replay cannot slip past as another encoding of the same signature (base64 with
/// whitespace) or another signature over the same message. The timestamp may be at most
/// <see cref="AimServerOptions.ClockSkew"/> from the server clock either way (AIM allows five minutes).
/// The key must be a current key of the agent the request names, which must be active in an organization that has the
/// compatibility switch on (<c>404 compat_disabled</c> otherwise).
/// </summary>
internal sealed class AimRequestAuth(ServerStore store, AgentAccessCache cache, CompatStore compat, AimServerOptions options, ServerMetrics metrics)
{
    /// <summary>The prefix that keeps AIM replay keys apart from RFC 9421 nonces in the <c>nonces</c> table.</summary>
    public const string ReplayPrefix = "aim-msg:";

    private readonly TimeProvider _time = options.TimeProvider;

    // The SDK each agent's requests last named, so the marker is written only when it changes.
    private readonly ConcurrentDictionary<string, string> _sdkSeen = new(StringComparer.Ordinal);

    /// <summary>Refuses every AIM route with 404 <c>compat_disabled</c> while no organization has the switch on.</summary>
    public async Task RequireAnyEnabledAsync()
    {
        if (!await compat.AnyEnabledAsync().ConfigureAwait(false))
        {
            throw CompatErrors.Disabled();
        }
    }

    /// <summary>Authenticates an AIM-signed request.</summary>
    /// <param name="context">The request.</param>
    /// <param name="pathAgent">The agent id in the route (<c>/sdk-api/agents/{id}/...</c>), which must be the signer.</param>
    /// <param name="deferReplay">When true the caller stores <see cref="AgentCaller.Nonce"/> with its own write and refuses a replay itself.</param>
    /// <exception cref="ApiException">401/403/404 with a stable code: see the class remarks.</exception>
    public async Task<AimCaller> AuthenticateAsync(HttpContext context, string? pathAgent = null, bool deferReplay = false)
    {
        await RequireAnyEnabledAsync().ConfigureAwait(false);
        var body = await RequestAuth.ReadBodyAsync(context, options.MaxBodyBytes).ConfigureAwait(false);
        string? agentText = Header(context, "X-Agent-ID"), signatureText = Header(context, "X-Signature"),
            timestampText = Header(context, "X-Timestamp"), publicKeyText = Header(context, "X-Public-Key");
        if (agentText is null || signatureText is null || timestampText is null || publicKeyText is null)
        {
            throw Fail(ErrorCodes.SignatureMissing, "AIM agent requests need one each of X-Agent-ID, X-Signature, X-Timestamp and X-Public-Key.");
        }

        if (timestampText.Length is 0 or > 12 || !timestampText.All(char.IsAsciiDigit)
            || !long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out long timestamp))
        {
            throw Fail(ErrorCodes.SignatureInvalid, "X-Timestamp must be Unix seconds.");
        }

        if (Math.Abs(_time.GetUtcNow().ToUnixTimeSeconds() - timestamp) > (long)options.ClockSkew.TotalSeconds)
        {
            throw Fail(ErrorCodes.SignatureExpired, $"X-Timestamp is more than {options.ClockSkew.TotalSeconds:0} s from the server clock.");
        }

        if (StandardBase64(publicKeyText, Ed25519.PublicKeySize) is not { } publicKey)
        {
            throw Fail(ErrorCodes.SignatureInvalid, "X-Public-Key must be a base64 32-byte Ed25519 key.");
        }

        if (StandardBase64(signatureText, Ed25519.SignatureSize) is not { } signature)
        {
            throw Fail(ErrorCodes.SignatureInvalid, "X-Signature must be a base64 64-byte Ed25519 signature.");
        }

        string keyId = AgentIdentity.AipIdOf(publicKey);
        var access = await cache.FindAsync(keyId).ConfigureAwait(false);
        if (access is not null && (access.Agent.Status != AgentStatus.Active || access.Key.NotAfter is not null))
        {
            // A refusal is confirmed on current data (the agent may have been reactivated), as for RFC 9421 requests.
            access = await cache.LoadAsync(keyId).ConfigureAwait(false);
        }

        if (access is null || AimIds.ToServerId(agentText) is not { } agentId || access.Agent.Id != agentId)
        {
            throw Fail(ErrorCodes.UnknownKey, "X-Agent-ID and X-Public-Key name no registered agent and key.");
        }

        if (!(await compat.SettingsAsync(access.Agent.OrgId).ConfigureAwait(false)).Enabled)
        {
            throw CompatErrors.Disabled();
        }

        string method = context.Request.Method.ToUpperInvariant();
        string path = SignedPath(context);
        var message = Message(method, path, timestampText, body);
        if (!Ed25519.Verify(publicKey, message, signature))
        {
            await store.AddSecurityEventAsync(access.Agent.OrgId, access.Agent.Id, ErrorCodes.SignatureInvalid).ConfigureAwait(false);
            throw Fail(ErrorCodes.SignatureInvalid, "The AIM request signature does not verify.");
        }

        var caller = await AdmitAsync(access, body, keyId, timestamp, ReplayKey(message)).ConfigureAwait(false);
        if (pathAgent is not null && AimIds.ToServerId(pathAgent) != caller.Agent.Id)
        {
            // No agent speaks for another: the route's agent must be the signer.
            throw ApiException.NotFound("agent");
        }

        if (!deferReplay && !await store.TryUseNonceAsync(caller.Nonce.KeyId, caller.Nonce.Nonce, caller.Nonce.Expires).ConfigureAwait(false))
        {
            throw await ReplayedAsync(caller.Agent).ConfigureAwait(false);
        }

        await NoteSdkAsync(caller.Agent, context.Request.Headers.UserAgent.ToString()).ConfigureAwait(false);
        return new AimCaller(caller, publicKeyText, timestampText, signatureText, path);
    }

    /// <summary>Admits the request again on data read from the database now (an agent, key, grant or policy changed while deciding).</summary>
    public async Task<AgentCaller> ReadmitAsync(AgentCaller stale)
    {
        var access = await cache.LoadAsync(stale.Key.KeyId).ConfigureAwait(false);
        if (access is null || access.Agent.Id != stale.Agent.Id)
        {
            throw Fail(ErrorCodes.UnknownKey, "X-Agent-ID and X-Public-Key name no registered agent and key.");
        }

        if (!(await compat.SettingsAsync(access.Agent.OrgId).ConfigureAwait(false)).Enabled)
        {
            throw CompatErrors.Disabled();
        }

        return await AdmitAsync(access, stale.Body, stale.Key.KeyId, stale.Signature.Created, stale.Nonce.Nonce).ConfigureAwait(false);
    }

    /// <summary>The refusal of a signature seen before (also recorded as a security event, which the trust score counts).</summary>
    public async Task<ApiException> ReplayedAsync(AgentRow agent)
    {
        await store.AddSecurityEventAsync(agent.OrgId, agent.Id, CompatErrors.SignatureReplayed).ConfigureAwait(false);
        return Fail(CompatErrors.SignatureReplayed, "This AIM request signature was used before (replay).");
    }

    /// <summary>The replay key of a signed message: what a second use of the same request would store again.</summary>
    public static string ReplayKey(byte[] message) => ReplayPrefix + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(message));

    /// <summary>What AIM's scheme signs: the method, the path and the timestamp as sent, and the body when there is one.</summary>
    public static byte[] Message(string method, string path, string timestamp, ReadOnlySpan<byte> body)
    {
        string head = $"{method}\n{path}\n{timestamp}";
        int headLength = Encoding.UTF8.GetByteCount(head);
        var message = new byte[headLength + (body.IsEmpty ? 0 : 1 + body.Length)];
        Encoding.UTF8.GetBytes(head, message);
        if (!body.IsEmpty)
        {
            message[headLength] = (byte)'\n';
            body.CopyTo(message.AsSpan(headLength + 1));
        }

        return message;
    }

    private async Task<AgentCaller> AdmitAsync(AgentAccess access, byte[] body, string keyId, long timestamp, string replayKey)
    {
        long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (access.Key.NotAfter is { } until && until <= now)
        {
            throw Fail(ErrorCodes.UnknownKey, "The signing key was rotated out.");
        }

        if (access.Agent.Status == AgentStatus.Revoked)
        {
            await store.AddSecurityEventAsync(access.Agent.OrgId, access.Agent.Id, ErrorCodes.AgentRevoked).ConfigureAwait(false);
            throw new ApiException(403, ErrorCodes.AgentRevoked, "The agent is revoked.");
        }

        if (access.Agent.Status == AgentStatus.Suspended)
        {
            throw new ApiException(403, ErrorCodes.AgentSuspended, "The agent is suspended.");
        }

        // The same request signed in the same second is the same message, and stays a replay.
        long expires = (timestamp + (long)options.ClockSkew.TotalSeconds + 1) * 1000;
        return new AgentCaller(access.Agent, access.Key, body)
        {
            Nonce = (keyId, replayKey, expires),
            Signature = new ParsedSignature("aim", string.Empty, timestamp, replayKey, keyId, []),
            Access = access,
        };
    }

    private async Task NoteSdkAsync(AgentRow agent, string userAgent)
    {
        if (AimSdkKinds.FromUserAgent(userAgent) is not var (sdk, version))
        {
            return;
        }

        string marker = sdk + "/" + version;
        if (_sdkSeen.TryGetValue(agent.Id, out var seen) && seen == marker)
        {
            return;
        }

        await compat.NoteSdkAsync(agent.OrgId, agent.Id, sdk, version, _time.GetUtcNow().ToUnixTimeMilliseconds()).ConfigureAwait(false);
        if (_sdkSeen.Count > 100_000)
        {
            _sdkSeen.Clear();
        }

        _sdkSeen[agent.Id] = marker;
    }

    /// <summary>The path exactly as the client sent it (AIM's SDKs sign the literal endpoint string), without the query.</summary>
    public static string SignedPath(HttpContext context)
    {
        string raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (context.Request.PathBase + context.Request.Path).ToString();
        int query = raw.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? raw : raw[..query];
    }

    private static byte[]? StandardBase64(string text, int length)
    {
        if (text.Length > 128)
        {
            return null;
        }

        var buffer = new byte[96];
        return Convert.TryFromBase64String(text, buffer, out int written) && written == length ? buffer[..written] : null;
    }

    private ApiException Fail(string code, string message)
    {
        metrics.SignatureFailures.Add(1, new KeyValuePair<string, object?>("code", code));
        return ApiException.Unauthorized(code, message);
    }

    private static string? Header(HttpContext context, string name)
    {
        StringValues values = context.Request.Headers[name];
        return values.Count == 1 && values[0] is { Length: > 0 } v ? v.Trim() : null;
    }
}

/// <summary>The error codes of the compatibility surface.</summary>
internal static class CompatErrors
{
    /// <summary>404: the organization (or, before any organization turned it on, the server) does not serve AIM's routes.</summary>
    public const string DisabledCode = "compat_disabled";

    /// <summary>401: an AIM request signature used a second time.</summary>
    public const string SignatureReplayed = "signature_replayed";

    /// <summary>403: AIM's registration without a public key asks the server for a key pair, which the organization does not allow.</summary>
    public const string ServerKeysDisabled = "server_keys_disabled";

    public static ApiException Disabled() =>
        new(404, DisabledCode, "AIM wire compatibility is not enabled for this organization (an admin runs 'aim orgs compat <org> on').");
}

/// <summary>AIM names agents and verifications by UUID; the server's ids are the same UUIDs written without dashes.</summary>
internal static class AimIds
{
    /// <summary>The server id (32 hex digits) of a UUID in either form, or null when the text is not a UUID.</summary>
    public static string? ToServerId(string? text) =>
        text is { Length: 32 or 36 } && Guid.TryParseExact(text, text.Length == 32 ? "N" : "D", out var id) ? id.ToString("N") : null;

    /// <summary>The UUID form AIM's SDKs expect (<c>8-4-4-4-12</c>).</summary>
    public static string ToAim(string serverId) => Guid.TryParseExact(serverId, "N", out var id) ? id.ToString("D") : serverId;
}
