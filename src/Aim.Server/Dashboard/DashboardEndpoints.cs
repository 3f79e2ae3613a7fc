using System.Text;
using Aim.Server.AuditLog;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>
/// The dashboard: server-rendered HTML under <c>/dashboard</c>, one small script for live updates over
/// server-sent events, forms protected by a per-session CSRF token, and the same role rules as the API.
/// </summary>
internal static class DashboardEndpoints
{
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<DashboardSessions>();
        services.AddSingleton<ApprovalDecisions>();
    }

    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/dashboard").AddEndpointFilter(async (context, next) =>
        {
            var headers = context.HttpContext.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";
            return await next(context);
        });

        group.MapGet("/static/app.css", () => Results.Text(DashboardAssets.Css, "text/css; charset=utf-8"));
        group.MapGet("/static/app.js", () => Results.Text(DashboardAssets.Js, "text/javascript; charset=utf-8"));
        group.MapGet("/", () => Results.Redirect("/dashboard/approvals"));
        group.MapGet("/sign-in", (HttpContext http) => SignInPage(http, null, 200));
        group.MapPost("/sign-in", async (HttpContext http, DashboardSessions sessions) =>
        {
            var form = await DashboardGuard.ReadFormAsync(http);
            if (!SignInCsrf.Accepts(http, form))
            {
                // Login CSRF: a cross-site page could otherwise sign the victim's browser in under the attacker's key.
                return SignInPage(http, "The sign-in form was stale or did not come from this dashboard. Try again.", 400);
            }

            string? presented = form is not null && form.TryGetValue("api_key", out var k) && k.Count == 1 ? k[0] : null;
            var key = await sessions.CheckKeyAsync(presented);
            if (key is null)
            {
                return SignInPage(http, "The API key is not valid (unknown, revoked or mistyped).", 401);
            }

            sessions.Start(http, key);
            string target = form!.TryGetValue("return", out var r) && r.Count == 1 ? r[0]! : "/dashboard";
            return Results.Redirect(SafeReturn(target));
        });
        group.MapPost("/sign-out", async (HttpContext http, DashboardSessions sessions) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions);
            if (user is null)
            {
                return refusal!;
            }

            sessions.End(http);
            return Results.Redirect("/dashboard/sign-in");
        });

        group.MapGet("/events", LiveEventsAsync);
        AgentPages.Map(group);
        ApprovalPages.Map(group);
        AuditPages.Map(group);
        AdminPages.Map(group);
        ReportPages.Map(group);
    }

    /// <summary>
    /// Only same-site dashboard paths: an open redirect after sign-in would hand users to a phishing page. Printable
    /// ASCII only, so no control character (CR/LF) reaches the Location header.
    /// </summary>
    internal static string SafeReturn(string? target) =>
        target is { Length: < 512 } t
        && (t == "/dashboard" || t.StartsWith("/dashboard/", StringComparison.Ordinal) || t.StartsWith("/dashboard?", StringComparison.Ordinal))
        && !t.Contains('\\', StringComparison.Ordinal) && !t.Contains("/..", StringComparison.Ordinal) && t.All(c => c is > ' ' and < '\u007f')
            ? t : "/dashboard";

    private static IResult SignInPage(HttpContext http, string? error, int status)
    {
        string back = http.Request.Query.TryGetValue("return", out var r) && r.Count == 1 ? SafeReturn(r[0]) : "/dashboard";
        var body = new StringBuilder();
        body.Append(Html.Notice(error, error: true));
        body.Append("<form method=\"post\" action=\"/dashboard/sign-in\" class=\"card signin\">")
            .Append("<input type=\"hidden\" name=\"csrf\" value=\"").Append(Html.E(SignInCsrf.Issue(http))).Append("\">")
            .Append("<input type=\"hidden\" name=\"return\" value=\"").Append(Html.E(back)).Append("\">")
            .Append("<p><label for=\"api_key\">API key</label><br><input id=\"api_key\" name=\"api_key\" type=\"password\" autocomplete=\"off\" required aria-describedby=\"key_help\"></p>")
            .Append("<p id=\"key_help\" class=\"who\">Paste an API key (admin, approver, auditor or registrar). The browser keeps only a session cookie, never the key.</p>")
            .Append("<p><button type=\"submit\">Sign in</button></p></form>");
        return Html.Page("Sign in", body.ToString(), null, null, status);
    }

    // One event stream per open page: it polls the database twice a second (approvals may be created or decided
    // by another replica) and sends "approvals" or "audit" when what the page shows has changed.
    private static async Task LiveEventsAsync(HttpContext http, DashboardSessions sessions, ServerStore store, ServerAuditLog audit, AimServerOptions options)
    {
        var current = await sessions.CurrentAsync(http);
        if (current is not { } c)
        {
            http.Response.StatusCode = 401;
            return;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        await http.Response.WriteAsync("retry: 2000\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
        string? lastApprovals = null;
        long? lastAudit = null;
        var ct = http.RequestAborted;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (await sessions.CurrentAsync(http) is null)
                {
                    return;
                }

                var pending = await store.ListVerificationsAsync(c.Caller.OrgId, DecisionStatus.Pending, 200);
                long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                string approvals = string.Join(',', pending.Where(p => p.Expires > now).Select(p => p.Id));
                long size = await audit.SizeAsync(c.Caller.OrgId, ct);
                // The first round always announces both: the page may have rendered before a change this stream would miss.
                if (approvals != lastApprovals)
                {
                    await http.Response.WriteAsync("event: approvals\ndata: changed\n\n", ct);
                }

                if (size != lastAudit)
                {
                    await http.Response.WriteAsync("event: audit\ndata: " + size.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n\n", ct);
                }

                (lastApprovals, lastAudit) = (approvals, size);
                await http.Response.WriteAsync(": keep-alive\n\n", ct);
                await http.Response.Body.FlushAsync(ct);
                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            }
        }
        catch (OperationCanceledException)
        {
            // The page was closed.
        }
    }
}
