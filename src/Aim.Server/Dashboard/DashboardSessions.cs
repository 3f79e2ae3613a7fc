using System.Collections.Concurrent;
using System.Security.Cryptography;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>A signed-in dashboard user: the API key they signed in with and the session's CSRF token.</summary>
internal sealed record DashboardSession(string KeyId, string Csrf, DateTimeOffset Expires);

/// <summary>
/// Dashboard sessions. Signing in proves possession of an API key once; the browser then holds only a random
/// session token (HttpOnly, SameSite=Strict cookie), never the key. Every request re-reads the key row, so
/// revoking the key ends its sessions at once. Sessions live in this process: with several replicas, put a
/// sticky load balancer in front of the dashboard (the API itself is stateless).
/// </summary>
internal sealed class DashboardSessions(ServerStore store, AimServerOptions options)
{
    public const string CookieName = "aim_session";
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);
    private readonly ConcurrentDictionary<string, DashboardSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>Checks a presented API key; null when it is unknown, revoked or malformed.</summary>
    public async Task<ApiKeyRow?> CheckKeyAsync(string? presented)
    {
        presented = presented?.Trim();
        if (string.IsNullOrEmpty(presented) || presented.Length > 512)
        {
            return null;
        }

        var hash = ApiKeys.Hash(presented);
        var key = await store.FindApiKeyAsync(ApiKeys.IdOf(hash)).ConfigureAwait(false);
        return key is null || key.Revoked is not null || !ApiKeys.Matches(key.Hash, hash) ? null : key;
    }

    public string Start(HttpContext http, ApiKeyRow key)
    {
        Prune();
        string token = NewToken();
        _sessions[token] = new DashboardSession(key.Id, NewToken(), options.TimeProvider.GetUtcNow() + Lifetime);
        http.Response.Cookies.Append(CookieName, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/dashboard",
            MaxAge = Lifetime,
        });
        return token;
    }

    public void End(HttpContext http)
    {
        if (http.Request.Cookies.TryGetValue(CookieName, out var token) && token is not null)
        {
            _sessions.TryRemove(token, out _);
        }

        http.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/dashboard" });
    }

    /// <summary>The session and its (still valid) API key, or null when the request is not signed in.</summary>
    public async Task<(DashboardSession Session, ApiCaller Caller)?> CurrentAsync(HttpContext http)
    {
        if (!http.Request.Cookies.TryGetValue(CookieName, out var token) || token is null || token.Length > 100
            || !_sessions.TryGetValue(token, out var session))
        {
            return null;
        }

        if (session.Expires <= options.TimeProvider.GetUtcNow())
        {
            _sessions.TryRemove(token, out _);
            return null;
        }

        var key = await store.FindApiKeyAsync(session.KeyId).ConfigureAwait(false);
        if (key is null || key.Revoked is not null)
        {
            _sessions.TryRemove(token, out _);
            return null;
        }

        return (session, new ApiCaller(key));
    }

    /// <summary>True when the form's CSRF token is this session's (constant-time).</summary>
    public static bool CsrfMatches(DashboardSession session, string? presented) =>
        presented is { Length: > 0 and < 100 }
        && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(session.Csrf), System.Text.Encoding.UTF8.GetBytes(presented));

    private void Prune()
    {
        var now = options.TimeProvider.GetUtcNow();
        foreach (var (token, session) in _sessions)
        {
            if (session.Expires <= now)
            {
                _sessions.TryRemove(token, out _);
            }
        }
    }

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
