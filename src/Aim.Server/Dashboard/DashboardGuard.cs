using Aim.Server.Security;

namespace Aim.Server.Dashboard;

/// <summary>A dashboard request from a signed-in user, with the form it posted (when it posted one).</summary>
internal sealed record SignedIn(DashboardSession Session, ApiCaller Caller, IFormCollection? Form)
{
    public string? Field(string name) => Form is not null && Form.TryGetValue(name, out var v) && v.Count == 1 ? v[0] : null;
}

/// <summary>Signs requests in or turns them away: to the sign-in page, a 403 page for a missing role, 400 for a bad CSRF token.</summary>
internal static class DashboardGuard
{
    private const int MaxFormBytes = 16 * 1024;

    public static async Task<(SignedIn? User, IResult? Refusal)> CheckAsync(HttpContext http, DashboardSessions sessions, params string[] roles)
    {
        var current = await sessions.CurrentAsync(http).ConfigureAwait(false);
        if (current is not { } c)
        {
            string back = http.Request.Method == "GET" ? http.Request.Path + http.Request.QueryString : "/dashboard";
            return (null, Results.Redirect("/dashboard/sign-in?return=" + Uri.EscapeDataString(back)));
        }

        if (roles.Length > 0 && !Html.Has(c.Caller, roles))
        {
            return (null, Html.Page("Not allowed", Html.Notice($"Your key's role ({c.Caller.Key.Role}) cannot use this page. It needs one of: admin, {string.Join(", ", roles)}.", error: true),
                c.Caller, c.Session, 403));
        }

        IFormCollection? form = null;
        if (HttpMethods.IsPost(http.Request.Method))
        {
            form = await ReadFormAsync(http).ConfigureAwait(false);
            if (form is null || !DashboardSessions.CsrfMatches(c.Session, form.TryGetValue("csrf", out var t) && t.Count == 1 ? t[0] : null))
            {
                return (null, Html.Page("Request refused", Html.Notice("The form was stale or did not come from this dashboard. Reload the page and try again.", error: true), c.Caller, c.Session, 400));
            }
        }

        return (new SignedIn(c.Session, c.Caller, form), null);
    }

    public static async Task<IFormCollection?> ReadFormAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType || http.Request.ContentLength is > MaxFormBytes)
        {
            return null;
        }

        try
        {
            return await http.Request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { ValueLengthLimit = MaxFormBytes, ValueCountLimit = 32, KeyLengthLimit = 64 }, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            return null;
        }
    }
}
