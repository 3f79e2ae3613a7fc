using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>HTML building: every value that did not come from this file goes through <see cref="E"/>.</summary>
internal static class Html
{
    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? string.Empty);

    public static string Time(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Time(long? unixMs) => unixMs is { } t ? Time(t) : "—";

    /// <summary>A hidden input carrying the session's CSRF token (every form that changes something has one).</summary>
    public static string Csrf(DashboardSession session) => $"<input type=\"hidden\" name=\"csrf\" value=\"{E(session.Csrf)}\">";

    public static bool Has(ApiCaller caller, params string[] roles) => caller.Key.Role == Roles.Admin || roles.Contains(caller.Key.Role);

    /// <summary>The page frame: skip link, navigation (only the pages the caller's role may see), main landmark.</summary>
    public static IResult Page(string title, string body, ApiCaller? caller, DashboardSession? session, int status = 200, string? current = null)
    {
        var sb = new StringBuilder(4096);
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append("<title>").Append(E(title)).Append(" · Aim</title><link rel=\"stylesheet\" href=\"/dashboard/static/app.css\">");
        sb.Append("<script src=\"/dashboard/static/app.js\" defer></script></head><body>");
        sb.Append("<a class=\"skip\" href=\"#main\">Skip to content</a><header><span class=\"brand\">Aim</span>");
        if (caller is not null && session is not null)
        {
            sb.Append("<nav aria-label=\"Main\"><ul>");
            void Link(string href, string label, params string[] roles)
            {
                if (roles.Length == 0 || Has(caller, roles))
                {
                    string aria = current == href ? " aria-current=\"page\"" : string.Empty;
                    sb.Append("<li><a href=\"").Append(href).Append('"').Append(aria).Append('>').Append(label).Append("</a></li>");
                }
            }

            Link("/dashboard/agents", "Agents", Roles.Approver, Roles.Auditor, Roles.Registrar);
            Link("/dashboard/approvals", "Approvals", Roles.Approver, Roles.Auditor);
            Link("/dashboard/audit", "Audit log", Roles.Auditor);
            Link("/dashboard/capability-requests", "Capability requests", Roles.Approver, Roles.Auditor);
            Link("/dashboard/api-keys", "API keys", Roles.Admin);
            Link("/dashboard/mcp-servers", "MCP servers", Roles.Registrar, Roles.Auditor, Roles.Approver);
            Link("/dashboard/reports", "Reports", Roles.Auditor);
            sb.Append("</ul></nav><form method=\"post\" action=\"/dashboard/sign-out\" class=\"signout\">").Append(Csrf(session))
              .Append("<span class=\"who\">").Append(E(caller.Key.Name)).Append(" (").Append(E(caller.Key.Role)).Append(")</span> <button type=\"submit\">Sign out</button></form>");
        }

        sb.Append("</header><main id=\"main\" tabindex=\"-1\"><h1>").Append(E(title)).Append("</h1>").Append(body).Append("</main></body></html>");
        return Results.Content(sb.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    public static string Notice(string? text, bool error = false) =>
        string.IsNullOrEmpty(text) ? string.Empty : $"<p class=\"{(error ? "error" : "notice")}\" role=\"{(error ? "alert" : "status")}\">{E(text)}</p>";

    /// <summary>A POST form with one button (and optional extra fields), CSRF-protected.</summary>
    public static string ButtonForm(DashboardSession session, string action, string label, string extra = "", string cssClass = "") =>
        $"<form method=\"post\" action=\"{E(action)}\" class=\"inline {cssClass}\">{Csrf(session)}{extra}<button type=\"submit\">{E(label)}</button></form>";
}
