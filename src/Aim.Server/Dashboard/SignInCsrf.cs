using System.Security.Cryptography;
using System.Text;

namespace Aim.Server.Dashboard;

/// <summary>
/// Protects the sign-in form, which has no session yet, against login CSRF: rendering the form sets a random token in
/// an HttpOnly, SameSite=Strict cookie and in a hidden field; a sign-in is accepted only when both are present and equal
/// (constant-time) and the request does not say it came from another origin. A cross-site form post carries no
/// SameSite=Strict cookie, so it is refused even from a browser that sends no Origin header.
/// </summary>
internal static class SignInCsrf
{
    public const string CookieName = "aim_signin";

    /// <summary>A fresh token, set as the cookie on this response; put it in the form's <c>csrf</c> field.</summary>
    public static string Issue(HttpContext http)
    {
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        http.Response.Cookies.Append(CookieName, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/dashboard",
            MaxAge = TimeSpan.FromHours(1),
        });
        return token;
    }

    /// <summary>True when the posted form carries this browser's sign-in token and no header names another origin.</summary>
    public static bool Accepts(HttpContext http, IFormCollection? form)
    {
        var headers = http.Request.Headers;
        if (headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site")
        {
            return false;
        }

        // "null": the dashboard's Referrer-Policy no-referrer makes browsers send an opaque origin with its own forms.
        string origin = headers.Origin.ToString();
        if (origin.Length > 0 && origin != "null" && !string.Equals(origin, $"{http.Request.Scheme}://{http.Request.Host.Value}", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string? cookie = http.Request.Cookies.TryGetValue(CookieName, out var c) ? c : null;
        string? field = form is not null && form.TryGetValue("csrf", out var f) && f.Count == 1 ? f[0] : null;
        return cookie is { Length: 64 } && field is { Length: 64 }
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(cookie), Encoding.ASCII.GetBytes(field));
    }
}
