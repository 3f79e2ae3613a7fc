using Aim.Audit;
using Microsoft.Data.Sqlite;

namespace Aim.Sdk.Tests;

/// <summary><see cref="AimOptions.AuditLogOptions"/> reaches the embedded engine's audit log.</summary>
[Collection(GlobalRuntimeCollection.Name)]
public sealed class AuditLogOptionsTests : IDisposable
{
    // High risk: every entry is durable before the call returns, so each action ends at least one batch.
    private static readonly ActionDescriptor Read = new("db:read", declaredRisk: RiskLevel.High, method: "Tests.Read()");

    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Tree_head_interval_from_the_options_is_the_one_the_log_uses()
    {
        int byDefault = await HeadsAfterThreeActions("default-agent", options: null);
        int everyEntry = await HeadsAfterThreeActions("eager-agent", new AuditLogOptions { TreeHeadEvery = 1 });

        Assert.Equal(1, byDefault); // the default interval (1000): only the head written on dispose
        Assert.True(everyEntry >= 3, $"a head per batch expected, found {everyEntry}");
    }

    private async Task<int> HeadsAfterThreeActions(string agent, AuditLogOptions? options)
    {
        string path;
        {
            var (runtime, engine) = Runtimes.Embedded(_home, o =>
            {
                o.Grant("db:read");
                o.AuditLogOptions = options;
            }, name: agent);
            await using var _ = runtime;
            path = engine.AuditLog.Path;
            for (int i = 0; i < 3; i++)
            {
                runtime.Invoke(Read, null, () => { });
            }
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM heads";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
