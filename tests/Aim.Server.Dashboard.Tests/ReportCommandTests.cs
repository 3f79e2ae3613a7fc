using System.CommandLine;
using System.Reflection;

namespace Aim.Server.Dashboard.Tests;

/// <summary><c>aim report</c> against a real server (the command is built by ReportCommand.Create, as the CLI wires it).</summary>
public sealed class ReportCommandTests
{
    // The command type is internal to the aim tool; the test builds it the way Program.cs does.
    private static Command Report() =>
        (Command)Assembly.Load("aim").GetType("Aim.Cli.Commands.ReportCommand", throwOnError: true)!.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, null)!;

    private static Task<int> RunAsync(params string[] args)
    {
        var root = new RootCommand { Report() };
        return root.Parse(["report", .. args]).InvokeAsync();
    }

    [Fact]
    public async Task Writes_pdf_csv_and_json_reports_and_fails_with_exit_2_on_refusals()
    {
        await using var server = await TestServer.StartAsync();
        string dir = Directory.CreateTempSubdirectory("aim-report-cli").FullName;
        string keyFile = Path.Combine(dir, "auditor.key");
        await File.WriteAllTextAsync(keyFile, await server.CreateKeyAsync("cli-auditor", "auditor") + "\n");
        string day = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        foreach (var format in new[] { "pdf", "csv", "json" })
        {
            string outFile = Path.Combine(dir, "report." + format);
            Assert.Equal(0, await RunAsync("--server", server.Url.ToString(), "--api-key-file", keyFile, "--framework", "gdpr", "--from", day, "--to", day, "--format", format, "--out", outFile));
            Assert.True(new FileInfo(outFile).Length > 100);
        }

        Assert.StartsWith("%PDF-", File.ReadAllText(Path.Combine(dir, "report.pdf"))[..5], StringComparison.Ordinal);
        Assert.StartsWith("section,time,agent", File.ReadAllText(Path.Combine(dir, "report.csv")), StringComparison.Ordinal);

        // Refusals: a non-auditor key, a reversed period, a missing key file, an unreachable server.
        string approverKey = Path.Combine(dir, "approver.key");
        await File.WriteAllTextAsync(approverKey, await server.CreateKeyAsync("cli-approver", "approver"));
        string outBad = Path.Combine(dir, "bad.json");
        Assert.Equal(2, await RunAsync("--server", server.Url.ToString(), "--api-key-file", approverKey, "--framework", "soc2", "--from", day, "--to", day, "--out", outBad));
        Assert.Equal(2, await RunAsync("--server", server.Url.ToString(), "--api-key-file", keyFile, "--framework", "soc2", "--from", day, "--to", "2020-01-01", "--out", outBad));
        Assert.Equal(2, await RunAsync("--server", server.Url.ToString(), "--api-key-file", Path.Combine(dir, "missing.key"), "--framework", "soc2", "--from", day, "--to", day, "--out", outBad));
        Assert.Equal(2, await RunAsync("--server", "http://127.0.0.1:1/", "--api-key-file", keyFile, "--framework", "soc2", "--from", day, "--to", day, "--out", outBad));
        Assert.False(File.Exists(outBad));
        Assert.NotEqual(0, await RunAsync("--server", server.Url.ToString(), "--api-key-file", keyFile, "--framework", "pci", "--from", day, "--to", day, "--out", outBad));
    }
}
