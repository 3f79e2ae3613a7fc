using System.Collections.Concurrent;
using System.Diagnostics;
using Aim.Audit;
using static Aim.Core.Tests.Audit.AuditTestData;

namespace Aim.Core.Tests.Audit;

public sealed class AuditCrashTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string CrashWriterPath()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Aim.Audit.CrashWriter.dll");
        Assert.True(File.Exists(path), $"The crash writer was not built next to the tests: {path}");
        return path;
    }

    [Fact]
    public void Killed_writer_loses_no_acknowledged_entry_and_the_log_still_verifies()
    {
        var logPath = _dir.File("crash.db");
        var acknowledged = new ConcurrentDictionary<long, string>();
        var enough = new ManualResetEventSlim();
        var errors = new ConcurrentQueue<string>();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CrashWriterPath());
        start.ArgumentList.Add(logPath);
        start.ArgumentList.Add("8");

        using (var child = new Process { StartInfo = start })
        {
            child.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line && line.StartsWith("ack ", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ');
                    acknowledged[long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)] = parts[2];
                    if (acknowledged.Count >= 400)
                    {
                        enough.Set();
                    }
                }
            };
            child.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { Length: > 0 } line)
                {
                    errors.Enqueue(line);
                }
            };
            Assert.True(child.Start());
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();

            var reached = enough.Wait(TimeSpan.FromSeconds(120));
            child.Kill(entireProcessTree: true); // in the middle of the stream of appends
            child.WaitForExit(); // also drains the redirected streams: every ack line the child wrote is counted
            Assert.True(reached, "The child did not acknowledge enough appends: " + string.Join(Environment.NewLine, errors));
        }

        Assert.NotEmpty(acknowledged);

        // The file as the killed process left it (WAL and all) verifies without the log key.
        var afterCrash = AuditVerifier.VerifyFile(logPath);
        Assert.True(afterCrash.IsValid, afterCrash.Message);
        Assert.True(afterCrash.EntriesChecked >= acknowledged.Count);

        using var logKey = LogKey();
        using var log = AuditLog.Open(logPath, logKey); // the dead writer's lock is gone
        Assert.True(log.Count > acknowledged.Keys.Max());
        foreach (var (index, actionId) in acknowledged)
        {
            Assert.Equal(actionId, log.Get(index)!.Record.ActionId);
        }

        var reopened = log.Verify();
        Assert.True(reopened.IsValid, reopened.Message);
        Assert.Equal(log.Count, reopened.EntriesChecked);
    }
}
