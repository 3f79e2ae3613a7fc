using System.Diagnostics;
using System.Net;
using System.Text;

namespace Aim.Server.Dashboard.Tests;

public sealed class ComplianceReportTests
{
    private static string Today(int days = 0) => DateTime.UtcNow.Date.AddDays(days).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A server with history: one approved and one denied JIT call, one policy denial, an API key issued.</summary>
    private static async Task<(TestServer Server, ApiClient Auditor)> ServerWithHistoryAsync()
    {
        var server = await TestServer.StartAsync();
        string registrar = await server.CreateKeyAsync("agent-registrar", "registrar");
        string approverKey = await server.CreateKeyAsync("dana-approver", "approver");
        var auditor = new ApiClient(server.Url, await server.CreateKeyAsync("eve-auditor", "auditor"));
        using var approver = new ApiClient(server.Url, approverKey);
        await using var agent = AimAgent.Secure("claims-agent", o =>
        {
            o.ServerUrl = server.Url;
            o.ApiKey = registrar;
            o.Home = Directory.CreateTempSubdirectory("aim-report-agent").FullName;
        });
        await Assert.ThrowsAsync<ActionDeniedException>(() => agent.Runtime.InvokeAsync(new ActionDescriptor("phi:export"), null, () => Task.CompletedTask));
        (await server.Admin.PostAsync("api/v1/agents/claims-agent/grants", new { capabilities = new[] { "payment:refund", "db:read" } })).Expect(HttpStatusCode.OK);
        await agent.Runtime.InvokeAsync(new ActionDescriptor("db:read", resource: "claims"), null, () => Task.CompletedTask);

        foreach (var (approve, reason) in new[] { (true, (string?)null), (false, "=HYPERLINK(\"http://evil\",\"x\") over limit") })
        {
            var call = agent.Runtime.InvokeAsync(new ActionDescriptor("payment:refund", jitAccess: true, jitTimeoutSeconds: 60), null, () => Task.CompletedTask);
            string id = await PendingIdAsync(server);
            (await approver.PostAsync($"api/v1/approvals/{id}/{(approve ? "approve" : "deny")}", reason is null ? new { } : new { reason })).Expect(HttpStatusCode.OK);
            if (approve)
            {
                await call.WaitAsync(TimeSpan.FromSeconds(10));
            }
            else
            {
                await Assert.ThrowsAsync<ActionDeniedException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
            }
        }

        return (server, auditor);
    }

    private static async Task<string> PendingIdAsync(TestServer server)
    {
        for (int i = 0; i < 600; i++)
        {
            var items = (await server.Admin.GetAsync("api/v1/approvals")).Json["items"]!.AsArray();
            if (items.Count > 0)
            {
                return items[0]!["id"]!.GetValue<string>();
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("No pending approval appeared.");
    }

    [Fact]
    public async Task Json_report_has_every_section_with_approvers_denials_keys_and_a_verified_integrity_proof()
    {
        var (server, auditor) = await ServerWithHistoryAsync();
        await using var _ = server;
        using var __ = auditor;
        var r = (await auditor.GetAsync($"api/v1/reports/soc2?from={Today(-1)}&to={Today()}&format=json")).Expect(HttpStatusCode.OK).Json;
        Assert.Equal("soc2", r["framework"]!.GetValue<string>());
        var access = r["access_by_agent"]!.AsArray();
        Assert.Contains(access, a => (string?)a!["agent"] == "claims-agent" && (string?)a["capability"] == "payment:refund" && (long)a["allowed"]! == 1 && (long)a["denied"]! == 1);
        var approvals = r["approvals"]!.AsArray();
        Assert.Equal(2, approvals.Count);
        Assert.All(approvals, a => Assert.StartsWith("dana-approver", (string?)a!["approver"], StringComparison.Ordinal));
        var denied = r["denied_attempts"]!.AsArray();
        Assert.Contains(denied, d => (string?)d!["capability"] == "phi:export");
        Assert.Contains(denied, d => (string?)d!["reason_code"] == "approval_denied");
        Assert.Contains(r["key_rotations"]!.AsArray(), k => ((string?)k!["subject"])!.Contains("eve-auditor", StringComparison.Ordinal));
        var integrity = r["log_integrity"]!;
        Assert.True((bool)integrity["log_verified"]!);
        Assert.True((bool)integrity["tree_head_signature_valid"]!);
        Assert.True((long)integrity["tree_size"]! > 0);
        Assert.Contains(r["controls"]!.AsArray(), c => ((string?)c!["control"])!.StartsWith("CC6.1", StringComparison.Ordinal));

        var hipaa = (await auditor.GetAsync($"api/v1/reports/hipaa?from={Today(-1)}&to={Today()}")).Expect(HttpStatusCode.OK).Json;
        Assert.Contains(hipaa["controls"]!.AsArray(), c => ((string?)c!["control"])!.Contains("164.312(b)", StringComparison.Ordinal));
        var gdpr = (await auditor.GetAsync($"api/v1/reports/gdpr?from={Today(-1)}&to={Today()}")).Expect(HttpStatusCode.OK).Json;
        Assert.Contains(gdpr["controls"]!.AsArray(), c => ((string?)c!["control"])!.Contains("Art. 30", StringComparison.Ordinal));

        // A period with no activity has empty sections but still the integrity proof.
        var empty = (await auditor.GetAsync("api/v1/reports/soc2?from=2020-01-01&to=2020-01-31")).Expect(HttpStatusCode.OK).Json;
        Assert.Empty(empty["approvals"]!.AsArray());
        Assert.True((bool)empty["log_integrity"]!["log_verified"]!);
    }

    [Fact]
    public async Task Csv_report_is_one_quoted_table_and_neutralizes_spreadsheet_formulas()
    {
        var (server, auditor) = await ServerWithHistoryAsync();
        await using var _ = server;
        using var __ = auditor;
        var r = (await auditor.GetAsync($"api/v1/reports/hipaa?from={Today(-1)}&to={Today()}&format=csv")).Expect(HttpStatusCode.OK);
        Assert.Equal("text/csv", r.ContentType);
        var lines = r.Text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("section,time,agent,capability,result,actor,detail,count", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("approvals,", StringComparison.Ordinal) && l.Contains("dana-approver", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("log_integrity,", StringComparison.Ordinal) && l.Contains(",verified,", StringComparison.Ordinal));
        Assert.DoesNotContain(",=HYPERLINK", r.Text, StringComparison.Ordinal);
        Assert.Contains("\"'=HYPERLINK(\"\"http://evil\"\"", r.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pdf_report_opens_with_pdftoppm_and_shows_the_tables()
    {
        var (server, auditor) = await ServerWithHistoryAsync();
        await using var _ = server;
        using var __ = auditor;
        var r = (await auditor.GetAsync($"api/v1/reports/soc2?from={Today(-1)}&to={Today()}&format=pdf")).Expect(HttpStatusCode.OK);
        Assert.Equal("application/pdf", r.ContentType);
        string dir = Directory.CreateTempSubdirectory("aim-report-pdf").FullName;
        string pdf = Path.Combine(dir, "report.pdf");
        await File.WriteAllBytesAsync(pdf, r.Bytes);

        // Render page 1 to a grayscale image and check it is not blank.
        Run("pdftoppm", $"-r 60 -f 1 -l 1 -gray -singlefile \"{pdf}\" \"{Path.Combine(dir, "page1")}\"");
        var (width, height, pixels) = ReadPgm(Path.Combine(dir, "page1.pgm"));
        Assert.True(width > height, "A4 landscape");
        double dark = pixels.Count(p => p < 128) / (double)pixels.Length;
        Assert.True(dark > 0.005, $"Page 1 is blank ({dark:P3} dark pixels).");
        Run("pdftoppm", $"-r 80 -f 1 -l 1 -png -singlefile \"{pdf}\" \"{Repo.Screenshot("report-pdf-page1")[..^4]}\"");

        string text = Run("pdftotext", $"-layout \"{pdf}\" -");
        foreach (var expected in new[] { "SOC 2", "Access by agent", "Approvals with approver", "Denied attempts", "Key rotations", "Log integrity proof",
            "Approver", "Capability", "claims-agent", "dana-approver", "payment:refund", "phi:export", "VERIFIED", "CC6.1" })
        {
            Assert.Contains(expected, text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("api/v1/reports/xml?from=2026-01-01&to=2026-02-01", HttpStatusCode.BadRequest, "unknown_framework")]
    [InlineData("api/v1/reports/soc2?from=2026-01-01&to=2026-02-01&format=exe", HttpStatusCode.BadRequest, "unknown_format")]
    [InlineData("api/v1/reports/soc2?from=2026-02-01&to=2026-01-01", HttpStatusCode.BadRequest, "invalid_period")]
    [InlineData("api/v1/reports/soc2?from=2020-01-01&to=2026-01-01", HttpStatusCode.BadRequest, "invalid_period")]
    [InlineData("api/v1/reports/soc2?from=yesterday&to=2026-01-01", HttpStatusCode.BadRequest, "invalid_request")]
    [InlineData("api/v1/reports/soc2?to=2026-01-01", HttpStatusCode.BadRequest, "invalid_request")]
    [InlineData("api/v1/reports/soc2?from=2026-01-01&from=2026-01-02&to=2026-02-01", HttpStatusCode.BadRequest, "invalid_request")]
    public async Task Bad_report_requests_get_typed_errors(string path, HttpStatusCode status, string code)
    {
        await using var server = await TestServer.StartAsync();
        var r = await server.Admin.GetAsync(path);
        Assert.Equal(status, r.Status);
        Assert.Equal(code, r.ErrorCode);
    }

    [Fact]
    public async Task Reports_need_the_auditor_role()
    {
        await using var server = await TestServer.StartAsync();
        using var approver = new ApiClient(server.Url, await server.CreateKeyAsync("x", "approver"));
        Assert.Equal("role_forbidden", (await approver.GetAsync("api/v1/reports/soc2?from=2026-01-01&to=2026-01-02")).Expect(HttpStatusCode.Forbidden).ErrorCode);
        using var nobody = new ApiClient(server.Url, "aim_wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.GetAsync("api/v1/reports/soc2?from=2026-01-01&to=2026-01-02")).Status);
    }

    private static string Run(string tool, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException(tool + " did not start (apt-get install poppler-utils).");
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} failed ({p.ExitCode}): {error}");
        return output;
    }

    /// <summary>Reads a binary PGM (P5, 8-bit) as written by pdftoppm -gray.</summary>
    private static (int Width, int Height, byte[] Pixels) ReadPgm(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        int pos = 0;
        string Token()
        {
            while (char.IsWhiteSpace((char)data[pos]))
            {
                pos++;
            }

            int start = pos;
            while (!char.IsWhiteSpace((char)data[pos]))
            {
                pos++;
            }

            return Encoding.ASCII.GetString(data, start, pos - start);
        }

        Assert.Equal("P5", Token());
        int w = int.Parse(Token(), System.Globalization.CultureInfo.InvariantCulture);
        int h = int.Parse(Token(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("255", Token());
        pos++;
        return (w, h, data[pos..(pos + (w * h))]);
    }
}
