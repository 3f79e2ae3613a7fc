using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Server.AuditLog;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>The audit log browser: filters, entry detail, and "verify this entry" against a freshly signed tree head.</summary>
internal static class AuditPages
{
    private const int PageSize = 50;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/audit", async (HttpContext http, DashboardSessions sessions, ServerStore store, ServerAuditLog audit) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Auditor);
            if (user is null)
            {
                return refusal!;
            }

            string org = user.Caller.OrgId;
            string? agentFilter = Query(http, "agent"), capability = Query(http, "capability"), kind = Query(http, "kind"), decision = Query(http, "decision");
            long from = long.TryParse(Query(http, "from"), out var f) && f >= 0 ? f : 0;
            var agents = await store.ListAgentsAsync(org, null);
            var names = agents.ToDictionary(a => a.Id, a => a.Name, StringComparer.Ordinal);
            string? agentId = agentFilter is null ? null : agents.FirstOrDefault(a => a.Id == agentFilter || a.Name == agentFilter)?.Id ?? "-none-";
            var rows = await audit.QueryAsync(org, from, PageSize, agentId, capability, kind, decision);
            var sb = new StringBuilder();
            sb.Append("<form method=\"get\" action=\"/dashboard/audit\" class=\"filters\" role=\"search\" aria-label=\"Filter the audit log\">")
              .Append(Select("agent", "Agent", agentFilter, agents.Select(a => (a.Name, a.Name))))
              .Append(Input("capability", "Capability", capability))
              .Append(Select("kind", "Kind", kind, new[] { ("action", "action"), ("outcome", "outcome"), ("event", "event") }))
              .Append(Select("decision", "Decision", decision, new[] { ("allow", "allow"), ("deny", "deny") }))
              .Append(Input("from", "From index", from == 0 ? null : from.ToString(System.Globalization.CultureInfo.InvariantCulture)))
              .Append("<button type=\"submit\">Filter</button> <a href=\"/dashboard/audit\">Clear</a></form>");
            sb.Append("<section data-live=\"audit\" aria-live=\"polite\" aria-label=\"Audit entries\">");
            if (rows.Count == 0)
            {
                sb.Append("<p id=\"no-entries\">No entries match.</p>");
            }
            else
            {
                sb.Append("<table id=\"audit\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Time</th><th scope=\"col\">Agent</th><th scope=\"col\">Kind</th><th scope=\"col\">Capability</th><th scope=\"col\">Decision</th><th scope=\"col\">Detail</th></tr></thead><tbody>");
                foreach (var r in rows)
                {
                    var record = Record(r);
                    string detail = Text(record, "detail") ?? Text(record, "reason") ?? Text(record, "outcome") ?? string.Empty;
                    sb.Append("<tr><td><a href=\"/dashboard/audit/").Append(r.Index).Append("\">").Append(r.Index).Append("</a></td><td>").Append(Html.Time(r.Time)).Append("</td><td>")
                      .Append(Html.E(r.AgentId is null ? "—" : names.GetValueOrDefault(r.AgentId, r.AgentId))).Append("</td><td>").Append(Html.E(r.Kind)).Append("</td><td><code>")
                      .Append(Html.E(r.Capability)).Append("</code></td><td class=\"").Append(r.Decision == "deny" ? "bad" : string.Empty).Append("\">").Append(Html.E(r.Decision))
                      .Append("</td><td>").Append(Html.E(detail.Length > 160 ? detail[..160] + "…" : detail)).Append("</td></tr>");
                }

                sb.Append("</tbody></table>");
                if (rows.Count == PageSize)
                {
                    var next = new Dictionary<string, string?> { ["agent"] = agentFilter, ["capability"] = capability, ["kind"] = kind, ["decision"] = decision, ["from"] = (rows[^1].Index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) };
                    sb.Append("<p><a href=\"/dashboard/audit?").Append(Html.E(string.Join('&', next.Where(p => p.Value is not null).Select(p => p.Key + "=" + Uri.EscapeDataString(p.Value!))))).Append("\">Next page</a></p>");
                }
            }

            sb.Append("</section>");
            return Html.Page("Audit log", sb.ToString(), user.Caller, user.Session, current: "/dashboard/audit");
        });

        group.MapGet("/audit/{index:long}", async (long index, HttpContext http, DashboardSessions sessions, ServerStore store, ServerAuditLog audit) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Auditor);
            if (user is null)
            {
                return refusal!;
            }

            var row = await FindAsync(audit, user.Caller.OrgId, index);
            if (row is null)
            {
                return Html.Page("Entry not found", Html.Notice("No such audit entry.", error: true), user.Caller, user.Session, 404);
            }

            var sb = new StringBuilder();
            sb.Append("<div class=\"card\"><p><strong>Index:</strong> ").Append(row.Index).Append(" · <strong>Time:</strong> ").Append(Html.Time(row.Time))
              .Append(" · <strong>Kind:</strong> ").Append(Html.E(row.Kind)).Append(" · <strong>Decision:</strong> ").Append(Html.E(row.Decision ?? "—"))
              .Append("</p><p><strong>Leaf hash:</strong> <code>").Append(Base64Url.EncodeToString(row.Leaf)).Append("</code></p>")
              .Append("<form method=\"get\" action=\"/dashboard/audit/").Append(row.Index).Append("/verify\"><button type=\"submit\" id=\"verify\">Verify this entry</button></form></div>")
              .Append("<h2>Entry</h2><pre>").Append(Html.E(Pretty(row.Body))).Append("</pre>");
            return Html.Page($"Audit entry {row.Index}", sb.ToString(), user.Caller, user.Session, current: "/dashboard/audit");
        });

        group.MapGet("/audit/{index:long}/verify", async (long index, HttpContext http, DashboardSessions sessions, ServerAuditLog audit) =>
        {
            var (user, refusal) = await DashboardGuard.CheckAsync(http, sessions, Roles.Auditor);
            if (user is null)
            {
                return refusal!;
            }

            var row = await FindAsync(audit, user.Caller.OrgId, index);
            if (row is null)
            {
                return Html.Page("Entry not found", Html.Notice("No such audit entry.", error: true), user.Caller, user.Session, 404);
            }

            var check = await EntryCheck.RunAsync(audit, user.Caller.OrgId, row);
            var sb = new StringBuilder();
            sb.Append("<p id=\"verdict\" role=\"status\" class=\"").Append(check.Valid ? "ok" : "bad").Append("\">")
              .Append(check.Valid ? "Verified: this entry is in the log the server signed." : "NOT verified: " + Html.E(check.Problem)).Append("</p>");
            sb.Append("<table><tbody>")
              .Append(Row("Leaf hash recomputed from the stored bytes", check.LeafMatches))
              .Append(Row("Agent signature over the record (agent entries)", check.EntryWellFormed))
              .Append(Row("Tree head signature (server log key)", check.HeadSignatureValid))
              .Append(Row("Inclusion proof leads to the signed root", check.InclusionValid))
              .Append("</tbody></table>");
            sb.Append("<h2>Signed tree head</h2><pre>").Append(Html.E(check.Head.ToJson())).Append("</pre>");
            sb.Append("<h2>Inclusion proof</h2><p>Leaf ").Append(check.Proof.LeafIndex).Append(" of a tree of ").Append(check.Proof.TreeSize).Append(" entries; ")
              .Append(check.Proof.Path.Count).Append(" sibling hashes:</p><ol>");
            foreach (var h in check.Proof.Path)
            {
                sb.Append("<li><code>").Append(Base64Url.EncodeToString(h)).Append("</code></li>");
            }

            sb.Append("</ol><p><a href=\"/dashboard/audit/").Append(row.Index).Append("\">Back to the entry</a></p>");
            return Html.Page($"Verify entry {row.Index}", sb.ToString(), user.Caller, user.Session, check.Valid ? 200 : 409, current: "/dashboard/audit");
        });
    }

    internal static async Task<AuditEntryRow?> FindAsync(ServerAuditLog audit, string org, long index)
    {
        if (index < 0)
        {
            return null;
        }

        var rows = await audit.QueryAsync(org, index, 1, null, null, null, null);
        return rows.Count == 1 && rows[0].Index == index ? rows[0] : null;
    }

    private static string Row(string what, bool ok) => $"<tr><th scope=\"row\">{Html.E(what)}</th><td class=\"{(ok ? "ok" : "bad")}\">{(ok ? "pass" : "FAIL")}</td></tr>";

    private static JsonObject? Record(AuditEntryRow r)
    {
        try
        {
            return JsonNode.Parse(r.Body)?["record"] as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // An agent's record may carry any JSON under a member the page shows: only strings are shown.
    private static string? Text(JsonObject? record, string name) => record?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string Pretty(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return JsonSerializer.Serialize(doc.RootElement, new JsonSerializerOptions { WriteIndented = true });
        }
        catch (JsonException)
        {
            return Encoding.UTF8.GetString(body);
        }
    }

    private static string? Query(HttpContext http, string name) =>
        http.Request.Query.TryGetValue(name, out var v) && v.Count == 1 && v[0] is { Length: > 0 and <= 200 } s ? s : null;

    private static string Input(string name, string label, string? value) =>
        $"<label>{Html.E(label)}<input name=\"{name}\" value=\"{Html.E(value)}\"></label>";

    private static string Select(string name, string label, string? value, IEnumerable<(string Value, string Text)> options) =>
        $"<label>{Html.E(label)}<select name=\"{name}\"><option value=\"\">any</option>"
        + string.Concat(options.Select(o => $"<option value=\"{Html.E(o.Value)}\"{(o.Value == value ? " selected" : string.Empty)}>{Html.E(o.Text)}</option>"))
        + "</select></label>";
}

/// <summary>What "verify this entry" found. <see cref="Valid"/> only when every check passed.</summary>
internal sealed record EntryCheckResult(bool LeafMatches, bool EntryWellFormed, bool HeadSignatureValid, bool InclusionValid, SignedTreeHead Head, InclusionProof Proof, string? Problem)
{
    public bool Valid => LeafMatches && EntryWellFormed && HeadSignatureValid && InclusionValid;
}

/// <summary>
/// Checks one entry the way an outside auditor would: hash the stored bytes into a leaf, check the agent's
/// signature, sign a tree head now, and verify the inclusion proof from that leaf to the head's root with
/// Aim.Core's RFC 9162 verifier. Nothing is taken from the stored leaf column.
/// </summary>
internal static class EntryCheck
{
    public static async Task<EntryCheckResult> RunAsync(ServerAuditLog audit, string org, AuditEntryRow row)
    {
        var head = await audit.TreeHeadAsync(org).ConfigureAwait(false);
        var proof = await audit.InclusionProofAsync(org, row.Index, head.TreeSize).ConfigureAwait(false);
        var leaf = MerkleHash.Leaf(row.Body);
        bool leafMatches = leaf.AsSpan().SequenceEqual(row.Leaf);
        string? entryProblem = (await audit.CheckEntryAsync(org, row).ConfigureAwait(false))?.Code;
        bool headOk = head.VerifySignature() && head.LogPublicKey.AsSpan().SequenceEqual(audit.LogPublicKey);
        bool included = InclusionProof.Verify(leaf, proof, head.RootHash);
        string? problem = !leafMatches ? "the stored bytes do not hash to the stored leaf"
            : entryProblem is not null ? $"the entry is {entryProblem.Replace('_', ' ')}"
            : !headOk ? "the tree head signature does not verify under the server's log key"
            : !included ? "the inclusion proof does not lead to the signed root" : null;
        return new EntryCheckResult(leafMatches, entryProblem is null, headOk, included, head, proof, problem);
    }
}
