using System.Globalization;
using Aim.Server.Endpoints;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Reports;

/// <summary>
/// <c>GET /api/v1/reports/{soc2|hipaa|gdpr}?from=&amp;to=&amp;format=json|csv|pdf</c> (auditor role). <c>from</c> is
/// inclusive and <c>to</c> exclusive; a date without a time as <c>to</c> means the end of that day.
/// </summary>
internal static class ReportEndpoints
{
    public static void AddServices(IServiceCollection services) =>
        services.AddSingleton(sp => new ComplianceReports(sp.GetRequiredService<Database>(), sp.GetRequiredService<AuditLog.ServerAuditLog>(), sp.GetRequiredService<AimServerOptions>().TimeProvider));

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/reports/{framework}", async (string framework, HttpContext http, RequestAuth auth, ComplianceReports reports) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Auditor);
            var (f, from, to, format) = ParseRequest(framework, RequestJson.QueryString(http, "from", 40), RequestJson.QueryString(http, "to", 40), RequestJson.QueryString(http, "format", 8));
            return await RenderAsync(reports, caller.OrgId, f, from, to, format, http.RequestAborted);
        });
    }

    /// <exception cref="ApiException">An unknown framework or format, or a malformed date.</exception>
    internal static (ComplianceFramework Framework, DateTimeOffset From, DateTimeOffset To, ReportFormat Format) ParseRequest(string framework, string? from, string? to, string? format)
    {
        if (!ComplianceReport.TryParseFramework(framework, out var f))
        {
            throw ApiException.BadRequest("unknown_framework", "The framework must be soc2, hipaa or gdpr.");
        }

        if (!ReportWriters.TryParseFormat(format, out var fmt))
        {
            throw ApiException.BadRequest("unknown_format", "The format must be json, csv or pdf.");
        }

        return (f, ParseTime(from, "from", endOfDay: false) ?? throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'from' is required (e.g. 2026-01-01)."),
            ParseTime(to, "to", endOfDay: true) ?? throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'to' is required (e.g. 2026-03-31)."), fmt);
    }

    internal static async Task<IResult> RenderAsync(ComplianceReports reports, string orgId, ComplianceFramework f, DateTimeOffset from, DateTimeOffset to, ReportFormat format, CancellationToken ct)
    {
        var report = await reports.BuildAsync(orgId, f, from, to, ct);
        byte[] bytes;
        try
        {
            bytes = ReportWriters.Write(report, format);
        }
        catch (AimConfigurationException ex)
        {
            // A missing font: an operator setting, not a client error.
            throw new ApiException(503, "report_pdf_unavailable", ex.Message);
        }

        return Results.File(bytes, ReportWriters.ContentType(format), ReportWriters.FileName(report, format));
    }

    // Reports cover Unix time up to the last full year of the calendar: 'to' may be a day's end, which must still exist.
    private static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;
    private static readonly DateTimeOffset Latest = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset? ParseTime(string? text, string name, bool endOfDay)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        DateTimeOffset? parsed = null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            if (day.Year is >= 1970 and < 9999)
            {
                var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                parsed = endOfDay ? start.AddDays(1) : start;
            }
        }
        else if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
        {
            parsed = t;
        }

        return parsed is { } p && p >= Earliest && p <= Latest
            ? p
            : throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be a date (yyyy-MM-dd) or an ISO 8601 time from 1970 to 9998.");
    }
}
