using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;
using Microsoft.Data.Sqlite;

namespace Aim.Core.Tests.Audit;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A temporary directory for one test's log files.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aim-audit-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class AuditTestData
{
    public static readonly byte[] LogSeed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    public static readonly byte[] AgentSeed = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();

    public static Ed25519KeyPair LogKey() => Ed25519KeyPair.FromSeed(LogSeed);

    public static Ed25519KeyPair AgentKey() => Ed25519KeyPair.FromSeed(AgentSeed);

    public static AuditRecord Record(int n, AuditEntryKind kind = AuditEntryKind.Authorized) => new()
    {
        ActionId = $"act-{n}",
        Kind = kind,
        AgentId = "5f1c8a8e-8d2c-4d3e-9a57-0b4c1e2f3a4b",
        AgentName = "support-agent",
        Capability = n % 2 == 0 ? "db:read" : "email:send",
        Resource = "users_table",
        Risk = RiskLevel.Low,
        Decision = "allow",
        ReasonCode = "granted",
        ArgumentsDigest = "sha256:" + new string('a', 64),
        DurationMs = n * 1.5,
    };

    /// <summary>Creates a closed log of <paramref name="count"/> entries with a tree head every <paramref name="headEvery"/>.</summary>
    public static void CreateLog(string path, int count, long headEvery = 5)
    {
        using var logKey = LogKey();
        using var agent = AgentKey();
        using var log = AuditLog.Open(path, logKey, new AuditLogOptions { TreeHeadEvery = headEvery });
        for (var i = 0; i < count; i++)
        {
            log.Append(Record(i), agent);
        }
    }

    /// <summary>An entry body that is validly signed by some other key (what a forger with write access can make).</summary>
    public static byte[] ForgedBody(long index, Ed25519KeyPair forgerKey, string actionId = "forged")
    {
        var prepared = AuditEntryCodec.Prepare(Record(0) with { ActionId = actionId, Details = new JsonObject { ["note"] = "forged" } }, forgerKey.PublicKey);
        var unsigned = AuditEntryCodec.EncodeUnsigned(prepared, index, DateTimeOffset.UtcNow, out var offset);
        return AuditEntryCodec.Seal(unsigned, offset, forgerKey.Sign(unsigned));
    }

    public static SqliteConnection OpenRaw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static void Sql(string path, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = OpenRaw(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    public static byte[] Body(string path, long index)
    {
        using var connection = OpenRaw(path);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM entries WHERE idx = $i";
        command.Parameters.AddWithValue("$i", index);
        return (byte[])command.ExecuteScalar()!;
    }
}
