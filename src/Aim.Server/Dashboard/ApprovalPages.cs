using System.Text;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>Pending JIT approvals (approve, or deny with a reason) and recent decisions; the list updates live.</summary>
internal static class ApprovalPages
{
    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/approvals", async (HttpContext http, DashboardSessions sessions, ServerStore store, AimServerOptions options) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Approver, Roles.Auditor);
            if (user is null)
            {
                return refusal!;
            }

            string org = user.Caller.OrgId;
            long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var names = (await store.ListAgentsAsync(org, null)).ToDictionary(a => a.Id, a => a.Name, StringComparer.Ordinal);
            var pending = (await store.ListVerificationsAsync(org, DecisionStatus.Pending, 200)).Where(v => v.Expires > now).OrderBy(v => v.Created).ToList();
            var recent = (await store.ListVerificationsAsync(org, null, 50)).Where(v => v.Status != DecisionStatus.Pending && v.DecidedBy is not null).Take(20).ToList();
            bool canDecide = Html.Has(user.Caller, Roles.Approver);
            var sb = new StringBuilder();
            sb.Append(Html.Notice(http.Request.Query["notice"].ToString()));
            sb.Append(Html.Notice(http.Request.Query["error"].ToString(), error: true));
            sb.Append("<section data-live=\"approvals\" aria-live=\"polite\" aria-labelledby=\"pending-h\"><h2 id=\"pending-h\">Waiting for a decision (").Append(pending.Count).Append(")</h2>");
            if (pending.Count == 0)
            {
                sb.Append("<p id=\"no-pending\">Nothing is waiting for approval.</p>");
            }
            else
            {
                sb.Append("<table id=\"pending\"><thead><tr><th scope=\"col\">Agent</th><th scope=\"col\">Capability</th><th scope=\"col\">Risk</th><th scope=\"col\">Resource / method</th><th scope=\"col\">Why</th><th scope=\"col\">Asked</th><th scope=\"col\">Expires</th>")
                  .Append(canDecide ? "<th scope=\"col\">Decision</th>" : string.Empty).Append("</tr></thead><tbody>");
                foreach (var v in pending)
                {
                    string agent = names.GetValueOrDefault(v.AgentId, v.AgentId);
                    sb.Append("<tr data-approval=\"").Append(Html.E(v.Id)).Append("\"><td>").Append(Html.E(agent)).Append("</td><td><code>").Append(Html.E(v.Capability)).Append("</code></td><td>")
                      .Append(Html.E(v.Risk)).Append("</td><td>").Append(Html.E(v.Resource ?? "—")).Append("<br><small>").Append(Html.E(v.Method)).Append("</small></td><td>")
                      .Append(Why(v)).Append("</td><td>")
                      .Append(Html.Time(v.Created)).Append("</td><td>").Append(Html.Time(v.Expires)).Append("</td>");
                    if (canDecide)
                    {
                        string action = "/dashboard/approvals/" + Uri.EscapeDataString(v.Id);
                        string reasonId = "reason-" + v.Id;
                        sb.Append("<td>").Append(Html.ButtonForm(user.Session, action + "/approve", $"Approve", cssClass: "approve"))
                          .Append("<form method=\"post\" action=\"").Append(Html.E(action + "/deny")).Append("\" class=\"inline deny\">").Append(Html.Csrf(user.Session))
                          .Append("<label for=\"").Append(Html.E(reasonId)).Append("\">Reason for denial</label> <input id=\"").Append(Html.E(reasonId))
                          .Append("\" name=\"reason\" required maxlength=\"1000\"> <button type=\"submit\">Deny</button></form></td>");
                    }

                    sb.Append("</tr>");
                }

                sb.Append("</tbody></table>");
            }

            sb.Append("</section><h2>Recent decisions</h2>");
            if (recent.Count == 0)
            {
                sb.Append("<p>No decisions yet.</p>");
            }
            else
            {
                sb.Append("<table id=\"decided\"><thead><tr><th scope=\"col\">Agent</th><th scope=\"col\">Capability</th><th scope=\"col\">Decision</th><th scope=\"col\">By</th><th scope=\"col\">Reason</th><th scope=\"col\">When</th></tr></thead><tbody>");
                foreach (var v in recent)
                {
                    sb.Append("<tr><td>").Append(Html.E(names.GetValueOrDefault(v.AgentId, v.AgentId))).Append("</td><td><code>").Append(Html.E(v.Capability)).Append("</code></td><td>")
                      .Append(Html.E(v.Status)).Append("</td><td>").Append(Html.E(v.DecidedBy)).Append("</td><td>").Append(Html.E(v.DecisionReason ?? "—")).Append("</td><td>")
                      .Append(Html.Time(v.Decided)).Append("</td></tr>");
                }

                sb.Append("</tbody></table>");
            }

            return Html.Page("Approvals", sb.ToString(), user.Caller, user.Session, current: "/dashboard/approvals");
        });

        foreach (var (verb, approve) in new[] { ("approve", true), ("deny", false) })
        {
            group.MapPost($"/approvals/{{id}}/{verb}", async (string id, HttpContext http, DashboardSessions sessions, ApprovalDecisions decisions) =>
            {
                var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Approver);
                if (user is null)
                {
                    return refusal!;
                }

                try
                {
                    var row = await decisions.DecideAsync(user.Caller, id, approve, user.Field("reason"));
                    return Results.Redirect("/dashboard/approvals?notice=" + Uri.EscapeDataString($"{(approve ? "Approved" : "Denied")}: {row.Capability}."));
                }
                catch (ApiException ex)
                {
                    return Results.Redirect("/dashboard/approvals?error=" + Uri.EscapeDataString(ex.Message));
                }
            });
        }
    }

    /// <summary>
    /// Why the action waits: a step-up shows the check that was not sure, its verdict and its evidence (what the approver
    /// must see to decide); a plain JIT action says so.
    /// </summary>
    private static string Why(VerificationRow v)
    {
        if (v.Evidence is null)
        {
            return "JIT approval";
        }

        System.Text.Json.Nodes.JsonObject? evidence;
        try
        {
            evidence = System.Text.Json.Nodes.JsonNode.Parse(v.Evidence) as System.Text.Json.Nodes.JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            evidence = null;
        }

        if (evidence is null)
        {
            return "step-up";
        }

        var sb = new StringBuilder("<details class=\"evidence\"><summary>")
            .Append(Html.E($"Stepped up by the {evidence["step"]} check: {evidence["reason"]}")).Append("</summary><dl>");
        foreach (var (key, value) in evidence)
        {
            if (key is "step" or "reason")
            {
                continue;
            }

            sb.Append("<dt>").Append(Html.E(key)).Append("</dt><dd>").Append(Html.E(value is System.Text.Json.Nodes.JsonValue ? value.ToString() : value?.ToJsonString() ?? "null")).Append("</dd>");
        }

        return sb.Append("</dl></details>").ToString();
    }
}
