using System.Text;
using Aim.Server.Reports;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>Compliance reports from the dashboard: pick a framework, a period and a format; the file downloads.</summary>
internal static class ReportPages
{
    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/reports", async (HttpContext http, DashboardSessions sessions, AimServerOptions options) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Auditor);
            if (user is null)
            {
                return refusal!;
            }

            var today = DateOnly.FromDateTime(options.TimeProvider.GetUtcNow().UtcDateTime);
            var sb = new StringBuilder();
            sb.Append("<p>Evidence for auditors: access by agent, approvals with their approver, denied attempts, key rotations and a signed log integrity proof, for a period.</p>")
              .Append("<form method=\"get\" action=\"/dashboard/reports/download\" class=\"filters\">")
              .Append("<label>Framework<select name=\"framework\"><option value=\"soc2\">SOC 2</option><option value=\"hipaa\">HIPAA</option><option value=\"gdpr\">GDPR</option></select></label>")
              .Append("<label>From<input type=\"date\" name=\"from\" required value=\"").Append(today.AddDays(-30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)).Append("\"></label>")
              .Append("<label>To (inclusive)<input type=\"date\" name=\"to\" required value=\"").Append(today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)).Append("\"></label>")
              .Append("<label>Format<select name=\"format\"><option value=\"pdf\">PDF</option><option value=\"csv\">CSV</option><option value=\"json\">JSON</option></select></label>")
              .Append("<button type=\"submit\">Download report</button></form>");
            return Html.Page("Compliance reports", sb.ToString(), user.Caller, user.Session, current: "/dashboard/reports");
        });

        group.MapGet("/reports/download", async (HttpContext http, DashboardSessions sessions, ComplianceReports reports) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Auditor);
            if (user is null)
            {
                return refusal!;
            }

            try
            {
                string? Q(string n) => http.Request.Query.TryGetValue(n, out var v) && v.Count == 1 && v[0] is { Length: <= 40 } s ? s : null;
                var (f, from, to, format) = ReportEndpoints.ParseRequest(Q("framework") ?? string.Empty, Q("from"), Q("to"), Q("format"));
                return await ReportEndpoints.RenderAsync(reports, user.Caller.OrgId, f, from, to, format, http.RequestAborted);
            }
            catch (ApiException ex)
            {
                return Html.Page("Report not generated", Html.Notice(ex.Message, error: true), user.Caller, user.Session, ex.Status, current: "/dashboard/reports");
            }
        });
    }
}
