using System.Diagnostics;
using Aim.Audit;

namespace Aim.Sdk.Tests;

public sealed class CrashTraceTests : IDisposable
{
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_process_killed_mid_action_leaves_a_durable_authorized_entry_and_a_log_that_verifies()
    {
        string child = Path.Combine(AppContext.BaseDirectory, "Aim.Sdk.CrashAgent.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(child);
        psi.ArgumentList.Add(_home.Path);
        using var process = Process.Start(psi)!;

        var started = process.StandardOutput.ReadLineAsync();
        var finished = await Task.WhenAny(started, Task.Delay(TimeSpan.FromMinutes(2)));
        Assert.Same(started, finished);
        Assert.Equal("BODY STARTED", await started);

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();

        string log = Path.Combine(_home.Path, "audit", "crash-agent.db");
        var verification = AuditVerifier.VerifyFile(log);
        Assert.True(verification.IsValid, verification.Message);
        Assert.Equal(1, verification.EntriesChecked);

        using var logKey = new Aim.Identity.AgentKeyStore(_home.Path).LoadLogKey();
        using var reopened = AuditLog.Open(log, logKey.KeyPair);
        var entry = Assert.Single(reopened.Read(0, 10));
        Assert.Equal(AuditEntryKind.Authorized, entry.Record.Kind);
        Assert.Equal("user:delete", entry.Record.Capability);
    }
}
