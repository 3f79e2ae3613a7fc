using System.Globalization;
using System.Text;
using System.Text.Json;
using Aim.Server.AuditLog;
using Aim.Server.Storage;
using Aim.Server.Trust;

namespace Aim.Server.Dashboard;

/// <summary>Agents: status and trust, the trust-history chart, suspend / reactivate / revoke (admins).</summary>
internal static class AgentPages
{
    private static readonly string[] Readers = [Roles.Approver, Roles.Auditor, Roles.Registrar];

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/agents", async (HttpContext http, DashboardSessions sessions, ServerStore store) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Readers);
            if (user is null)
            {
                return refusal!;
            }

            var agents = await store.ListAgentsAsync(user.Caller.OrgId, null);
            var sb = new StringBuilder();
            sb.Append(Html.Notice(http.Request.Query["notice"].ToString()));
            if (agents.Count == 0)
            {
                sb.Append("<p>No agents are registered yet.</p>");
            }
            else
            {
                sb.Append("<table><caption class=\"skip\">Registered agents</caption><thead><tr><th scope=\"col\">Agent</th><th scope=\"col\">Status</th><th scope=\"col\">Last trust score</th><th scope=\"col\">Registered</th></tr></thead><tbody>");
                foreach (var a in agents)
                {
                    var last = await store.ListTrustScoresAsync(user.Caller.OrgId, a.Id, 1);
                    sb.Append("<tr><td><a href=\"/dashboard/agents/").Append(Html.E(a.Id)).Append("\">").Append(Html.E(a.Name)).Append("</a></td><td>")
                      .Append(Html.E(a.Status)).Append("</td><td>").Append(last.Count == 0 ? "not computed" : last[0].Score.ToString("0.0", CultureInfo.InvariantCulture))
                      .Append("</td><td>").Append(Html.Time(a.Created)).Append("</td></tr>");
                }

                sb.Append("</tbody></table>");
            }

            return Html.Page("Agents", sb.ToString(), user.Caller, user.Session, current: "/dashboard/agents");
        });

        group.MapGet("/agents/{id}", async (string id, HttpContext http, DashboardSessions sessions, ServerStore store, AimServerOptions options) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Readers);
            if (user is null)
            {
                return refusal!;
            }

            var agent = id.Length > 64 ? null : await store.FindAgentAsync(user.Caller.OrgId, id);
            if (agent is null)
            {
                return Html.Page("Agent not found", Html.Notice("No such agent in your organization.", error: true), user.Caller, user.Session, 404);
            }

            var (score, factors) = await TrustNow.ComputeAndStoreAsync(store, options, agent);
            var history = await store.ListTrustScoresAsync(user.Caller.OrgId, agent.Id, 60);
            var grants = await store.ListGrantsAsync(user.Caller.OrgId, agent.Id);
            var keys = await store.ListKeysAsync(user.Caller.OrgId, agent.Id);
            var sb = new StringBuilder();
            sb.Append(Html.Notice(http.Request.Query["notice"].ToString()));
            sb.Append("<div class=\"card\"><p><strong>Status:</strong> <span id=\"agent-status\">").Append(Html.E(agent.Status)).Append("</span> · <strong>Trust score:</strong> ")
              .Append(score.ToString("0.0", CultureInfo.InvariantCulture)).Append(" / 100 · <strong>Registered:</strong> ").Append(Html.Time(agent.Created)).Append("</p>");
            if (agent.Description is not null)
            {
                sb.Append("<p>").Append(Html.E(agent.Description)).Append("</p>");
            }

            if (Html.Has(user.Caller) && agent.Status != AgentStatus.Revoked)
            {
                string action = "/dashboard/agents/" + Uri.EscapeDataString(agent.Id) + "/";
                sb.Append(agent.Status == AgentStatus.Active
                    ? Html.ButtonForm(user.Session, action + "suspend", "Suspend")
                    : Html.ButtonForm(user.Session, action + "reactivate", "Reactivate"));
                sb.Append(Html.ButtonForm(user.Session, action + "revoke", "Revoke permanently", cssClass: "danger"));
            }

            sb.Append("</div><h2>Trust history</h2>").Append(TrustChart(history));
            sb.Append("<h2>Trust factors</h2><table><thead><tr><th scope=\"col\">Factor</th><th scope=\"col\">Weight</th><th scope=\"col\">Value</th><th scope=\"col\">Why</th></tr></thead><tbody>");
            foreach (var f in factors)
            {
                sb.Append("<tr><td>").Append(Html.E(f.Name)).Append("</td><td>").Append(f.Weight.ToString("0.00", CultureInfo.InvariantCulture)).Append("</td><td>")
                  .Append((f.Value * 100).ToString("0", CultureInfo.InvariantCulture)).Append("%</td><td>").Append(Html.E(f.Explanation)).Append("</td></tr>");
            }

            sb.Append("</tbody></table><h2>Grants</h2>");
            sb.Append(grants.Count == 0 ? "<p>No capabilities granted.</p>" : "<ul>" + string.Concat(grants.Select(g => $"<li><code>{Html.E(g.Pattern)}</code> by {Html.E(g.CreatedBy)}</li>")) + "</ul>");
            sb.Append("<h2>Keys</h2><ul>");
            foreach (var k in keys)
            {
                sb.Append("<li><code>").Append(Html.E(k.KeyId)).Append("</code> since ").Append(Html.Time(k.Created)).Append(k.NotAfter is { } n ? " · valid until " + Html.Time(n) : string.Empty).Append("</li>");
            }

            sb.Append("</ul>");
            return Html.Page("Agent " + agent.Name, sb.ToString(), user.Caller, user.Session, current: "/dashboard/agents");
        });

        foreach (var (verb, status) in new[] { ("suspend", AgentStatus.Suspended), ("reactivate", AgentStatus.Active), ("revoke", AgentStatus.Revoked) })
        {
            group.MapPost($"/agents/{{id}}/{verb}", async (string id, HttpContext http, DashboardSessions sessions, ServerStore store, ServerAuditLog audit) =>
            {
                var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Admin);
                if (user is null)
                {
                    return refusal!;
                }

                var agent = id.Length > 64 ? null : await store.FindAgentAsync(user.Caller.OrgId, id);
                if (agent is null)
                {
                    return Html.Page("Agent not found", Html.Notice("No such agent in your organization.", error: true), user.Caller, user.Session, 404);
                }

                if (!await audit.ChangeAsync(user.Caller.OrgId, async (c, tx) =>
                    await store.SetAgentStatusAsync(c, tx, user.Caller.OrgId, agent.Id, status) ? (true, ServerEvents.Of("agent." + verb, agent.Id, agent.Name, user.Caller.Name)) : (false, null)))
                {
                    return Html.Page("Not changed", Html.Notice("A revoked agent cannot change status.", error: true), user.Caller, user.Session, 409);
                }

                return Results.Redirect($"/dashboard/agents/{Uri.EscapeDataString(agent.Id)}?notice={Uri.EscapeDataString($"{agent.Name}: {verb} done.")}");
            });
        }
    }

    /// <summary>An inline SVG line of the stored scores (oldest left), with a text summary for screen readers.</summary>
    internal static string TrustChart(IReadOnlyList<(double Score, string Factors, long Computed)> newestFirst)
    {
        if (newestFirst.Count == 0)
        {
            return "<p>No history yet.</p>";
        }

        const int W = 600, H = 160, Pad = 24;
        var points = newestFirst.Reverse().ToList();
        var sb = new StringBuilder();
        string summary = $"Trust score over {points.Count} computations, from {points[0].Score:0.0} to {points[^1].Score:0.0} (0 to 100 scale).";
        sb.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{Html.E(summary)}\">");
        foreach (int level in new[] { 0, 50, 100 })
        {
            double y = H - Pad - (level / 100.0 * (H - 2 * Pad));
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Pad}\" x2=\"{W - 4}\" y1=\"{y:0.0}\" y2=\"{y:0.0}\" stroke=\"#d0d7de\"/><text x=\"2\" y=\"{y + 4:0.0}\" font-size=\"10\" fill=\"#57606a\">{level}</text>");
        }

        var coords = points.Select((p, i) =>
        {
            double x = points.Count == 1 ? W / 2.0 : Pad + (i * (W - Pad - 8.0) / (points.Count - 1));
            double y = H - Pad - (Math.Clamp(p.Score, 0, 100) / 100.0 * (H - 2 * Pad));
            return (x, y);
        }).ToList();
        sb.Append("<polyline fill=\"none\" stroke=\"#0a58ca\" stroke-width=\"2\" points=\"")
          .AppendJoin(' ', coords.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.x:0.0},{c.y:0.0}"))).Append("\"/>");
        foreach (var (x, y) in coords)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{x:0.0}\" cy=\"{y:0.0}\" r=\"3\" fill=\"#0a58ca\"/>");
        }

        sb.Append("</svg><p class=\"who\">").Append(Html.E(summary)).Append("</p>");
        return sb.ToString();
    }
}

/// <summary>The trust score as <c>GET /api/v1/agents/{id}/trust</c> computes it; each computation is stored as history.</summary>
internal static class TrustNow
{
    public static async Task<(double Score, IReadOnlyList<TrustFactor> Factors)> ComputeAndStoreAsync(ServerStore store, AimServerOptions options, AgentRow row)
    {
        var now = options.TimeProvider.GetUtcNow();
        long since = (now - TimeSpan.FromDays(30)).ToUnixTimeMilliseconds();
        var verifications = await store.ListAgentVerificationsAsync(row.OrgId, row.Id, since).ConfigureAwait(false);
        var inputs = new TrustInputs
        {
            Status = row.Status,
            Created = DateTimeOffset.FromUnixTimeMilliseconds(row.Created),
            LastActivity = verifications.Count == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(verifications.Max(v => v.Created)),
            Verifications = verifications.Count,
            CapabilityDenials = verifications.Count(v => v.ReasonCode is "capability_not_granted" or "resource_not_granted"),
            SuccessOutcomes = verifications.Count(v => v.Outcome == "success"),
            FailedOutcomes = verifications.Count(v => v.Outcome is "error"),
            Approved = verifications.Count(v => v.Status == DecisionStatus.Approved),
            ApprovedWithOutcome = verifications.Count(v => v.Status == DecisionStatus.Approved && v.Outcome is not null),
            SecurityEvents = await store.CountSecurityEventsAsync(row.OrgId, row.Id, since).ConfigureAwait(false),
            Isolation = row.Isolation,
            Ratings = await store.ListRatingsAsync(row.OrgId, row.Id).ConfigureAwait(false),
        };
        var (score, factors) = ServerTrustScore.Compute(inputs, now);
        var views = factors.Select(f => new { name = f.Name, weight = f.Weight, value = Math.Round(f.Value, 4), explanation = f.Explanation }).ToList();
        await store.AddTrustScoreAsync(row.OrgId, row.Id, score, JsonSerializer.Serialize(views)).ConfigureAwait(false);
        return (score, factors);
    }
}
