using System.Text;
using Aim.Server.AuditLog;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>Capability requests, API keys (a new key is shown once) and the MCP server registry.</summary>
internal static class AdminPages
{
    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/capability-requests", async (HttpContext http, DashboardSessions sessions, ServerStore store) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Approver, Roles.Auditor);
            if (user is null)
            {
                return refusal!;
            }

            var names = (await store.ListAgentsAsync(user.Caller.OrgId, null)).ToDictionary(a => a.Id, a => a.Name, StringComparer.Ordinal);
            var rows = (await store.ListCapabilityRequestsAsync(user.Caller.OrgId, null)).OrderByDescending(r => r.Created).Take(200).ToList();
            bool canDecide = Html.Has(user.Caller);
            var sb = new StringBuilder(Html.Notice(http.Request.Query["notice"].ToString()));
            if (rows.Count == 0)
            {
                sb.Append("<p>No capability requests.</p>");
            }
            else
            {
                sb.Append("<table id=\"requests\"><thead><tr><th scope=\"col\">Agent</th><th scope=\"col\">Capability</th><th scope=\"col\">Why</th><th scope=\"col\">Status</th><th scope=\"col\">Asked</th><th scope=\"col\">Decision</th></tr></thead><tbody>");
                foreach (var r in rows)
                {
                    sb.Append("<tr><td>").Append(Html.E(names.GetValueOrDefault(r.AgentId, r.AgentId))).Append("</td><td><code>").Append(Html.E(r.Capability)).Append("</code></td><td>")
                      .Append(Html.E(r.Reason ?? "—")).Append("</td><td>").Append(Html.E(r.Status)).Append("</td><td>").Append(Html.Time(r.Created)).Append("</td><td>");
                    if (r.Status == DecisionStatus.Pending && canDecide)
                    {
                        string action = "/dashboard/capability-requests/" + Uri.EscapeDataString(r.Id);
                        sb.Append(Html.ButtonForm(user.Session, action + "/approve", "Grant", cssClass: "approve")).Append(Html.ButtonForm(user.Session, action + "/reject", "Reject", cssClass: "deny"));
                    }
                    else
                    {
                        sb.Append(Html.E(r.DecidedBy is null ? "—" : $"{r.DecidedBy}, {Html.Time(r.Decided)}"));
                    }

                    sb.Append("</td></tr>");
                }

                sb.Append("</tbody></table>");
            }

            return Html.Page("Capability requests", sb.ToString(), user.Caller, user.Session, current: "/dashboard/capability-requests");
        });

        foreach (var (verb, approve) in new[] { ("approve", true), ("reject", false) })
        {
            group.MapPost($"/capability-requests/{{id}}/{verb}", async (string id, HttpContext http, DashboardSessions sessions, ServerStore store, ServerAuditLog audit) =>
            {
                var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Admin);
                if (user is null)
                {
                    return refusal!;
                }

                try
                {
                    var row = await Endpoints.CapabilityRequestDecision.DecideAsync(store, audit, user.Caller, id, approve, user.Field("reason"));
                    return Results.Redirect("/dashboard/capability-requests?notice=" + Uri.EscapeDataString($"{row.Capability}: {row.Status}."));
                }
                catch (ApiException ex)
                {
                    return Html.Page("Not changed", Html.Notice(ex.Message, error: true), user.Caller, user.Session, ex.Status);
                }
            });
        }

        group.MapGet("/api-keys", async (HttpContext http, DashboardSessions sessions, ServerStore store) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Admin);
            return user is null ? refusal! : await KeysPageAsync(user, store, null, null);
        });

        group.MapPost("/api-keys", async (HttpContext http, DashboardSessions sessions, ServerStore store, ServerAuditLog audit) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Admin);
            if (user is null)
            {
                return refusal!;
            }

            string name = user.Field("name")?.Trim() ?? string.Empty;
            string? role = user.Field("role");
            if (name.Length is 0 or > 100 || !Roles.IsValid(role))
            {
                return await KeysPageAsync(user, store, null, "A key needs a name (1 to 100 characters) and one of the roles admin, approver, auditor, registrar.", 400);
            }

            string key = ApiKeys.Generate();
            var row = await audit.ChangeAsync(user.Caller.OrgId, async (c, tx) =>
            {
                var created = await store.CreateApiKeyAsync(c, tx, user.Caller.OrgId, name, role!, ApiKeys.Hash(key));
                return (created, ServerEvents.Of("api_key.created", null, null, user.Caller.Name, $"{created.Name} ({created.Role}, key {created.Id})"));
            });
            return await KeysPageAsync(user, store, (row, key), null);
        });

        group.MapPost("/api-keys/{id}/revoke", async (string id, HttpContext http, DashboardSessions sessions, ServerStore store, ServerAuditLog audit) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Admin);
            if (user is null)
            {
                return refusal!;
            }

            try
            {
                if (id.Length > 64 || !await audit.ChangeAsync(user.Caller.OrgId, async (c, tx) =>
                    await store.RevokeApiKeyAsync(c, tx, user.Caller.OrgId, id) ? (true, ServerEvents.Of("api_key.revoked", null, null, user.Caller.Name, $"key {id}")) : (false, null)))
                {
                    return await KeysPageAsync(user, store, null, "No such active key.", 404);
                }
            }
            catch (ApiException ex)
            {
                return await KeysPageAsync(user, store, null, ex.Message, ex.Status);
            }

            return Results.Redirect("/dashboard/api-keys");
        });

        group.MapGet("/mcp-servers", async (HttpContext http, DashboardSessions sessions, ServerStore store) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Registrar, Roles.Auditor, Roles.Approver);
            if (user is null)
            {
                return refusal!;
            }

            var rows = await store.ListMcpServersAsync(user.Caller.OrgId);
            var sb = new StringBuilder();
            if (rows.Count == 0)
            {
                sb.Append("<p>No MCP servers are registered. Register one with <code>POST /api/v1/mcp-servers</code>, then attest its key.</p>");
            }
            else
            {
                sb.Append("<table id=\"mcp\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">URL</th><th scope=\"col\">Key</th><th scope=\"col\">Attested</th><th scope=\"col\">Registered</th></tr></thead><tbody>");
                foreach (var m in rows)
                {
                    sb.Append("<tr><td>").Append(Html.E(m.Name)).Append("</td><td>").Append(Html.E(m.Url)).Append("</td><td><code>").Append(System.Buffers.Text.Base64Url.EncodeToString(m.PublicKey))
                      .Append("</code></td><td class=\"").Append(m.Attested is null ? "bad\">not attested" : "ok\">" + Html.Time(m.Attested)).Append("</td><td>").Append(Html.Time(m.Created)).Append("</td></tr>");
                }

                sb.Append("</tbody></table>");
            }

            return Html.Page("MCP servers", sb.ToString(), user.Caller, user.Session, current: "/dashboard/mcp-servers");
        });
    }

    private static async Task<IResult> KeysPageAsync(SignedIn user, ServerStore store, (ApiKeyRow Row, string Key)? created, string? error, int status = 200)
    {
        var keys = await store.ListApiKeysAsync(user.Caller.OrgId);
        var sb = new StringBuilder(Html.Notice(error, error: true));
        if (created is { } c)
        {
            sb.Append("<div class=\"card\" role=\"status\"><p><strong>New key for ").Append(Html.E(c.Row.Name)).Append(" (").Append(Html.E(c.Row.Role))
              .Append(").</strong> Copy it now: it is shown only once and the server keeps only its hash.</p><p class=\"secret\" id=\"new-key\">").Append(Html.E(c.Key)).Append("</p></div>");
        }

        sb.Append("<h2>Create a key</h2><form method=\"post\" action=\"/dashboard/api-keys\" class=\"filters\">").Append(Html.Csrf(user.Session))
          .Append("<label>Name<input name=\"name\" required maxlength=\"100\"></label><label>Role<select name=\"role\">")
          .Append(string.Concat(new[] { Roles.Approver, Roles.Auditor, Roles.Registrar, Roles.Admin }.Select(r => $"<option>{r}</option>")))
          .Append("</select></label><button type=\"submit\">Create key</button></form><h2>Keys</h2>");
        sb.Append("<table id=\"keys\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Id</th><th scope=\"col\">Role</th><th scope=\"col\">Created</th><th scope=\"col\">Status</th></tr></thead><tbody>");
        foreach (var k in keys)
        {
            sb.Append("<tr><td>").Append(Html.E(k.Name)).Append("</td><td><code>").Append(Html.E(k.Id)).Append("</code></td><td>").Append(Html.E(k.Role)).Append("</td><td>")
              .Append(Html.Time(k.Created)).Append("</td><td>");
            if (k.Revoked is { } revoked)
            {
                sb.Append("revoked ").Append(Html.Time(revoked));
            }
            else if (k.Id == user.Caller.Key.Id || k.IsSystem)
            {
                sb.Append(k.IsSystem ? "active (bootstrap)" : "active (this session)");
            }
            else
            {
                sb.Append(Html.ButtonForm(user.Session, "/dashboard/api-keys/" + Uri.EscapeDataString(k.Id) + "/revoke", "Revoke", cssClass: "danger"));
            }

            sb.Append("</td></tr>");
        }

        sb.Append("</tbody></table>");
        return Html.Page("API keys", sb.ToString(), user.Caller, user.Session, status, current: "/dashboard/api-keys");
    }
}
