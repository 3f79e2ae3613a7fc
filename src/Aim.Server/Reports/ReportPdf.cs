using System.Globalization;
using PdfSharp.Drawing;
using PdfSharp.Fonts;
using PdfSharp.Pdf;

namespace Aim.Server.Reports;

/// <summary>
/// Renders a report as a PDF (A4 landscape): title, period and integrity verdict, then one table per section with
/// the control it evidences. Tables continue on new pages with their header repeated; over-long cells are cut
/// with an ellipsis (the JSON and CSV exports carry every character).
/// </summary>
internal static class ReportPdf
{
    private const double Margin = 36;
    private const double RowHeight = 15;

    /// <summary>Renders the report. PDFsharp 6.2 is MIT-licensed: no licence choice is needed.</summary>
    /// <exception cref="AimConfigurationException">No TrueType font is installed.</exception>
    public static byte[] Render(ComplianceReport r)
    {
        ReportFonts.EnsureInstalled();
        using var document = new PdfDocument();
        document.Info.Title = r.Title;
        document.Info.Creator = "Aim server";
        var writer = new PageWriter(document);
        writer.Title(r.Title);
        writer.Text($"Organization {r.OrgId} · period {ReportWriters.T(r.From)} to {ReportWriters.T(r.To)} · generated {ReportWriters.T(r.Generated)}");
        var i = r.Integrity;
        bool ok = i.LogVerified && i.HeadSignatureValid;
        writer.Text(ok
            ? $"Log integrity: VERIFIED. {i.EntriesChecked} entries re-hashed; signed tree head size {i.TreeSize}."
            : $"Log integrity: FAILED ({i.FailureCode ?? "tree head signature"}).", bold: true);
        writer.Gap();

        string C(string section) => r.Controls.FirstOrDefault(c => c.Section == section).Control ?? string.Empty;
        string N(long n) => n.ToString(CultureInfo.InvariantCulture);

        writer.Table("Access by agent", C("access_by_agent"), ["Agent", "Capability", "Allowed", "Denied", "Expired", "First", "Last"], [130, 190, 60, 60, 60, 135, 135],
            r.Access.Select(a => new[] { a.Agent, a.Capability, N(a.Allowed), N(a.Denied), N(a.Expired), ReportWriters.T(a.First), ReportWriters.T(a.Last) }));
        writer.Table("Approvals with approver", C("approvals"), ["Time", "Agent", "Capability", "Risk", "Decision", "Approver", "Reason"], [120, 100, 130, 55, 65, 150, 150],
            r.Approvals.Select(a => new[] { ReportWriters.T(a.Time), a.Agent, a.Capability, a.Risk, a.Decision, a.Approver, a.Reason ?? "" }));
        writer.Table("Denied attempts", C("denied_attempts"), ["Time", "Agent", "Capability", "Reason code", "Source"], [120, 130, 170, 170, 180],
            r.Denied.Select(d => new[] { ReportWriters.T(d.Time), d.Agent, d.Capability, d.ReasonCode, d.Source }));
        writer.Table("Key rotations", C("key_rotations"), ["Time", "Subject", "Event", "Evidence"], [120, 280, 200, 170],
            r.KeyEvents.Select(k => new[] { ReportWriters.T(k.Time), k.Subject, k.Event, k.By }));
        writer.Table("Log integrity proof", C("log_integrity"), ["Field", "Value"], [160, 610],
        [
            ["Verdict", ok ? "verified" : "FAILED"],
            ["Entries re-verified", N(i.EntriesChecked)],
            ["Tree size", N(i.TreeSize)],
            ["Root hash (SHA-256, base64url)", i.RootHash],
            ["Log key (Ed25519, base64url)", i.LogKey],
            ["Tree head signature", i.Signature],
            ["Tree head time", i.Timestamp],
        ]);

        using var stream = new MemoryStream();
        document.Save(stream, false);
        return stream.ToArray();
    }

    private sealed class PageWriter(PdfDocument document)
    {
        private readonly XFont _title = new(ReportFonts.Family, 15, XFontStyleEx.Bold);
        private readonly XFont _heading = new(ReportFonts.Family, 11.5, XFontStyleEx.Bold);
        private readonly XFont _text = new(ReportFonts.Family, 8.5, XFontStyleEx.Regular);
        private readonly XFont _bold = new(ReportFonts.Family, 8.5, XFontStyleEx.Bold);
        private XGraphics? _gfx;
        private PdfPage? _page;
        private double _y;

        private XGraphics G => _gfx ?? NewPage();

        private double Bottom => _page!.Height.Point - Margin;

        public void Title(string text)
        {
            G.DrawString(text, _title, XBrushes.Black, new XPoint(Margin, _y + 14));
            _y += 24;
        }

        public void Text(string text, bool bold = false)
        {
            G.DrawString(Fit(text, bold ? _bold : _text, _page!.Width.Point - 2 * Margin), bold ? _bold : _text, XBrushes.Black, new XPoint(Margin, _y + 10));
            _y += 14;
        }

        public void Gap() => _y += 8;

        public void Table(string heading, string control, string[] header, double[] widths, IEnumerable<string[]> rows)
        {
            var list = rows.ToList();
            Ensure(RowHeight * 4 + 20);
            G.DrawString(heading, _heading, XBrushes.Black, new XPoint(Margin, _y + 12));
            _y += 16;
            if (control.Length > 0)
            {
                G.DrawString(Fit("Control: " + control, _text, _page!.Width.Point - 2 * Margin), _text, XBrushes.DimGray, new XPoint(Margin, _y + 9));
                _y += 13;
            }

            Header(header, widths);
            if (list.Count == 0)
            {
                Row(["(none in this period)"], [widths.Sum()], shade: false);
            }

            for (int i = 0; i < list.Count; i++)
            {
                if (_y + RowHeight > Bottom)
                {
                    NewPage();
                    Header(header, widths);
                }

                Row(list[i], widths, shade: i % 2 == 1);
            }

            _y += 12;
        }

        private void Header(string[] header, double[] widths)
        {
            G.DrawRectangle(new XSolidBrush(XColor.FromArgb(226, 232, 240)), Margin, _y, widths.Sum(), RowHeight);
            Cells(header, widths, _bold);
        }

        private void Row(string[] cells, double[] widths, bool shade)
        {
            if (shade)
            {
                G.DrawRectangle(new XSolidBrush(XColor.FromArgb(247, 249, 251)), Margin, _y, widths.Sum(), RowHeight);
            }

            Cells(cells, widths, _text);
        }

        private void Cells(string[] cells, double[] widths, XFont font)
        {
            double x = Margin;
            for (int i = 0; i < widths.Length && i < cells.Length; i++)
            {
                G.DrawString(Fit(cells[i], font, widths[i] - 6), font, XBrushes.Black, new XPoint(x + 3, _y + 10.5));
                x += widths[i];
            }

            G.DrawLine(new XPen(XColor.FromArgb(208, 215, 222), 0.5), Margin, _y + RowHeight, x, _y + RowHeight);
            _y += RowHeight;
        }

        private void Ensure(double height)
        {
            if (_gfx is null || _y + height > Bottom)
            {
                NewPage();
            }
        }

        private XGraphics NewPage()
        {
            _gfx?.Dispose();
            _page = document.AddPage();
            _page.Size = PdfSharp.PageSize.A4;
            _page.Orientation = PdfSharp.PageOrientation.Landscape;
            _gfx = XGraphics.FromPdfPage(_page);
            _y = Margin;
            return _gfx;
        }

        private string Fit(string text, XFont font, double width)
        {
            // Control characters would render as boxes or break the line; the exports keep the raw text.
            text = new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
            if (G.MeasureString(text, font).Width <= width)
            {
                return text;
            }

            int lo = 0, hi = text.Length;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) / 2;
                if (G.MeasureString(text[..mid] + "…", font).Width <= width)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            return text[..lo] + "…";
        }
    }
}

/// <summary>
/// PDFsharp has no font discovery on Linux: this resolver serves DejaVu Sans (or Liberation Sans) TTF files from
/// the system font folders. Without one the report fails with a clear error naming the package to install.
/// </summary>
internal sealed class ReportFonts : IFontResolver
{
    public const string Family = "Aim Report Sans";
    private static readonly object Gate = new();
    private static readonly (string Regular, string Bold)[] Candidates =
    [
        ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
        ("truetype/dejavu/DejaVuSans.ttf", "truetype/dejavu/DejaVuSans-Bold.ttf"),
        ("truetype/liberation/LiberationSans-Regular.ttf", "truetype/liberation/LiberationSans-Bold.ttf"),
        ("liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf"),
    ];

    private static readonly string[] Roots = ["/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", @"C:\Windows\Fonts"];
    private readonly byte[] _regular;
    private readonly byte[] _bold;

    private ReportFonts(byte[] regular, byte[] bold) => (_regular, _bold) = (regular, bold);

    /// <exception cref="AimConfigurationException">No usable TTF font was found (install fonts-dejavu-core).</exception>
    public static void EnsureInstalled()
    {
        lock (Gate)
        {
            if (GlobalFontSettings.FontResolver is ReportFonts)
            {
                return;
            }

            foreach (var root in Roots)
            {
                foreach (var (regular, bold) in Candidates)
                {
                    string r = Path.Combine(root, regular), b = Path.Combine(root, bold);
                    if (File.Exists(r) && File.Exists(b))
                    {
                        GlobalFontSettings.FontResolver = new ReportFonts(File.ReadAllBytes(r), File.ReadAllBytes(b));
                        return;
                    }
                }
            }

            // Windows-only font name mapping: DejaVuSans.ttf may also sit directly in a font folder.
            foreach (var root in Roots)
            {
                string r = Path.Combine(root, "DejaVuSans.ttf"), b = Path.Combine(root, "DejaVuSans-Bold.ttf");
                if (File.Exists(r) && File.Exists(b))
                {
                    GlobalFontSettings.FontResolver = new ReportFonts(File.ReadAllBytes(r), File.ReadAllBytes(b));
                    return;
                }
            }

            throw new AimConfigurationException("PDF reports need a TrueType font: none of DejaVu Sans or Liberation Sans was found under /usr/share/fonts. Install one (Debian/Ubuntu: apt-get install fonts-dejavu-core).");
        }
    }

    /// <inheritdoc />
    public FontResolverInfo? ResolveTypeface(string familyName, bool isBold, bool isItalic) =>
        new(isBold ? "aim-bold" : "aim-regular", false, isItalic);

    /// <inheritdoc />
    public byte[]? GetFont(string faceName) => faceName == "aim-bold" ? _bold : _regular;
}
