using Aim.Server.Reports;

namespace Aim.Server.Dashboard.Tests;

public sealed class ReportRenderingTests
{
    internal static ComplianceReport Sample(int rows, string agent = "agent-a") => new(
        ComplianceFramework.Gdpr, ComplianceReport.TitleOf(ComplianceFramework.Gdpr), "org-1",
        new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 2, 1, 8, 0, 0, TimeSpan.Zero),
        ComplianceReport.ControlsOf(ComplianceFramework.Gdpr),
        Enumerable.Range(0, rows).Select(i => new AccessRow(agent, $"cap:n{i}", i, 1, 0, 1767225600000 + i, 1767225600000 + i)).ToList(),
        Enumerable.Range(0, rows).Select(i => new ApprovalRow(1767225600000 + i, agent, "payment:refund", "critical", i % 2 == 0 ? "approved" : "denied", "alice (key 1)", new string('x', 500) + "\u0000\n")).ToList(),
        [], [], new IntegrityProof(10, "root", "key", "sig", "2026-02-01T08:00:00.000Z", true, true, 10, null));

    [Fact]
    public void Long_reports_continue_on_further_pages_and_hostile_text_does_not_break_rendering()
    {
        byte[] pdf = ReportPdf.Render(Sample(300, "agent-\u202Eevil"));
        Assert.StartsWith("%PDF-", System.Text.Encoding.ASCII.GetString(pdf, 0, 5), StringComparison.Ordinal);
        Assert.True(CountPages(pdf) >= 10, "300 + 300 rows need many pages");
    }

    [Fact]
    public void Empty_report_renders_one_page_with_none_rows()
    {
        byte[] pdf = ReportPdf.Render(Sample(0));
        Assert.Equal(1, CountPages(pdf));
    }

    private static int CountPages(byte[] pdf)
    {
        string text = System.Text.Encoding.Latin1.GetString(pdf);
        return System.Text.RegularExpressions.Regex.Matches(text, @"/Type\s*/Page[^s]").Count;
    }
}
