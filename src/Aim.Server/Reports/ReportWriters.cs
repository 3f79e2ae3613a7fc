using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aim.Server.Reports;

/// <summary>The formats a report is exported in.</summary>
internal enum ReportFormat
{
    Json,
    Csv,
    Pdf,
}

/// <summary>Writes a <see cref="ComplianceReport"/> as JSON or CSV (PDF: <see cref="ReportPdf"/>).</summary>
internal static class ReportWriters
{
    public static bool TryParseFormat(string? text, out ReportFormat format)
    {
        format = text?.ToLowerInvariant() switch
        {
            "json" or null or "" => ReportFormat.Json,
            "csv" => ReportFormat.Csv,
            "pdf" => ReportFormat.Pdf,
            _ => (ReportFormat)(-1),
        };
        return Enum.IsDefined(format);
    }

    public static string ContentType(ReportFormat f) => f switch
    {
        ReportFormat.Csv => "text/csv; charset=utf-8",
        ReportFormat.Pdf => "application/pdf",
        _ => "application/json; charset=utf-8",
    };

    public static string FileName(ComplianceReport r, ReportFormat f) =>
        string.Create(CultureInfo.InvariantCulture, $"aim-{r.Framework.ToString().ToLowerInvariant()}-{r.From:yyyyMMdd}-{r.To:yyyyMMdd}.{f.ToString().ToLowerInvariant()}");

    public static byte[] Write(ComplianceReport report, ReportFormat format) => format switch
    {
        ReportFormat.Csv => Encoding.UTF8.GetBytes(Csv(report)),
        ReportFormat.Pdf => ReportPdf.Render(report),
        _ => Encoding.UTF8.GetBytes(Json(report).ToJsonString(new JsonSerializerOptions { WriteIndented = true })),
    };

    public static JsonObject Json(ComplianceReport r) => new()
    {
        ["type"] = "aim-compliance-report/1",
        ["framework"] = r.Framework.ToString().ToLowerInvariant(),
        ["title"] = r.Title,
        ["org_id"] = r.OrgId,
        ["from"] = T(r.From),
        ["to"] = T(r.To),
        ["generated"] = T(r.Generated),
        ["controls"] = new JsonArray(r.Controls.Select(c => (JsonNode)new JsonObject { ["section"] = c.Section, ["control"] = c.Control }).ToArray()),
        ["access_by_agent"] = new JsonArray(r.Access.Select(a => (JsonNode)new JsonObject
        {
            ["agent"] = a.Agent, ["capability"] = a.Capability, ["allowed"] = a.Allowed, ["denied"] = a.Denied, ["expired"] = a.Expired, ["first"] = T(a.First), ["last"] = T(a.Last),
        }).ToArray()),
        ["approvals"] = new JsonArray(r.Approvals.Select(a => (JsonNode)new JsonObject
        {
            ["time"] = T(a.Time), ["agent"] = a.Agent, ["capability"] = a.Capability, ["risk"] = a.Risk, ["decision"] = a.Decision, ["approver"] = a.Approver, ["reason"] = a.Reason,
        }).ToArray()),
        ["denied_attempts"] = new JsonArray(r.Denied.Select(d => (JsonNode)new JsonObject
        {
            ["time"] = T(d.Time), ["agent"] = d.Agent, ["capability"] = d.Capability, ["reason_code"] = d.ReasonCode, ["source"] = d.Source,
        }).ToArray()),
        ["key_rotations"] = new JsonArray(r.KeyEvents.Select(k => (JsonNode)new JsonObject
        {
            ["time"] = T(k.Time), ["subject"] = k.Subject, ["event"] = k.Event, ["evidence"] = k.By,
        }).ToArray()),
        ["log_integrity"] = new JsonObject
        {
            ["tree_size"] = r.Integrity.TreeSize,
            ["root_hash"] = r.Integrity.RootHash,
            ["log_key"] = r.Integrity.LogKey,
            ["signature"] = r.Integrity.Signature,
            ["timestamp"] = r.Integrity.Timestamp,
            ["tree_head_signature_valid"] = r.Integrity.HeadSignatureValid,
            ["log_verified"] = r.Integrity.LogVerified,
            ["entries_checked"] = r.Integrity.EntriesChecked,
            ["failure_code"] = r.Integrity.FailureCode,
        },
    };

    /// <summary>One flat table: <c>section,time,agent,capability,result,actor,detail,count</c> (RFC 4180).</summary>
    public static string Csv(ComplianceReport r)
    {
        var sb = new StringBuilder();
        sb.Append("section,time,agent,capability,result,actor,detail,count\r\n");
        void Line(params string?[] cells) => sb.Append(string.Join(',', cells.Select(Cell))).Append("\r\n");
        string N(long n) => n.ToString(CultureInfo.InvariantCulture);
        foreach (var a in r.Access)
        {
            Line("access_by_agent", T(a.Last), a.Agent, a.Capability, $"allowed {N(a.Allowed)}; denied {N(a.Denied)}; expired {N(a.Expired)}", null, "first " + T(a.First), N(a.Allowed + a.Denied + a.Expired));
        }

        foreach (var a in r.Approvals)
        {
            Line("approvals", T(a.Time), a.Agent, a.Capability, a.Decision, a.Approver, a.Reason, "1");
        }

        foreach (var d in r.Denied)
        {
            Line("denied_attempts", T(d.Time), d.Agent, d.Capability, d.ReasonCode, null, d.Source, "1");
        }

        foreach (var k in r.KeyEvents)
        {
            Line("key_rotations", T(k.Time), k.Subject, null, k.Event, null, k.By, "1");
        }

        var i = r.Integrity;
        Line("log_integrity", i.Timestamp, null, null, i.LogVerified && i.HeadSignatureValid ? "verified" : "FAILED " + i.FailureCode, "log key " + i.LogKey,
            $"tree_size {N(i.TreeSize)}; root {i.RootHash}; signature {i.Signature}", N(i.EntriesChecked));
        return sb.ToString();
    }

    // RFC 4180 quoting, plus a leading apostrophe on cells a spreadsheet would run as a formula.
    private static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    internal static string T(long unixMs) => T(DateTimeOffset.FromUnixTimeMilliseconds(unixMs));

    internal static string T(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
