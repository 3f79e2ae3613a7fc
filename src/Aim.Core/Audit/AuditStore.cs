using Microsoft.Data.Sqlite;

namespace Aim.Audit;

/// <summary>
/// The SQLite layout of an audit log. <c>entries</c> holds the signed canonical JSON bodies (the Merkle leaves);
/// <c>nodes</c> caches the hash of every complete subtree (level 0 = leaf hashes) so proofs and the frontier
/// need O(log n) lookups; <c>heads</c> holds signed tree heads. The verifier trusts none of the caches: it
/// recomputes every hash from the bodies.
/// </summary>
internal static class AuditStore
{
    public const string FormatName = "aim-audit-log";
    public const string FormatVersion = "1";

    private const string Schema = """
        CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);
        CREATE TABLE entries(idx INTEGER PRIMARY KEY NOT NULL, body BLOB NOT NULL);
        CREATE TABLE nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY(level, idx)) WITHOUT ROWID;
        CREATE TABLE heads(id INTEGER PRIMARY KEY, tree_size INTEGER NOT NULL, json TEXT NOT NULL);
        """;

    public static SqliteConnection OpenConnection(string path, SqliteOpenMode mode)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Pooling = false, // a pooled handle would keep the file open after Dispose
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout = 10000;");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Reads the tables of the database. Throws <see cref="SqliteException"/> if the file is not SQLite.</summary>
    public static HashSet<string> Tables(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table';";
        using var reader = command.ExecuteReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>Returns the log public key when the database is an audit log of this format, otherwise a reason.</summary>
    public static byte[]? ReadLogKey(SqliteConnection connection, out string? problem)
    {
        problem = null;
        var tables = Tables(connection);
        if (!tables.SetEquals(["meta", "entries", "nodes", "heads"]))
        {
            problem = tables.Count == 0 ? "it is an empty database" : "its tables are not an Aim audit log's";
            return null;
        }

        var meta = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT key, value FROM meta;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (reader.GetFieldType(1) == typeof(byte[]))
                {
                    meta[reader.GetString(0)] = (byte[])reader.GetValue(1);
                }
            }
        }

        if (!meta.TryGetValue("format", out var format) || System.Text.Encoding.UTF8.GetString(format) != FormatName
            || !meta.TryGetValue("version", out var version) || System.Text.Encoding.UTF8.GetString(version) != FormatVersion)
        {
            problem = "it is not an Aim audit log of format version " + FormatVersion;
            return null;
        }

        if (!meta.TryGetValue("log_key", out var key) || key.Length != Crypto.Ed25519.PublicKeySize)
        {
            problem = "its log key is missing";
            return null;
        }

        return key;
    }

    public static void CreateSchema(SqliteConnection connection, ReadOnlySpan<byte> logKey)
    {
        using var tx = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = tx;
            command.CommandText = Schema;
            command.ExecuteNonQuery();
        }

        foreach (var (key, value) in new[]
                 {
                     ("format", System.Text.Encoding.UTF8.GetBytes(FormatName)),
                     ("version", System.Text.Encoding.UTF8.GetBytes(FormatVersion)),
                     ("log_key", logKey.ToArray()),
                 })
        {
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "INSERT INTO meta(key, value) VALUES ($k, $v);";
            command.Parameters.AddWithValue("$k", key);
            command.Parameters.AddWithValue("$v", value);
            command.ExecuteNonQuery();
        }

        tx.Commit();
    }

    /// <summary>The next index: one past the highest stored entry.</summary>
    public static long NextIndex(SqliteConnection connection) =>
        Convert.ToInt64(Scalar(connection, "SELECT COALESCE(MAX(idx) + 1, 0) FROM entries;"), System.Globalization.CultureInfo.InvariantCulture);

    public static byte[]? Node(SqliteConnection connection, int level, long index)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT hash FROM nodes WHERE level = $l AND idx = $i;";
        command.Parameters.AddWithValue("$l", level);
        command.Parameters.AddWithValue("$i", index);
        return command.ExecuteScalar() as byte[];
    }

    /// <summary>Reads every stored tree head; malformed ones come back as null so the verifier can report them.</summary>
    public static List<(long Id, string Json)> Heads(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, json FROM heads ORDER BY id;";
        using var reader = command.ExecuteReader();
        var heads = new List<(long, string)>();
        while (reader.Read())
        {
            heads.Add((reader.GetInt64(0), reader.IsDBNull(1) ? string.Empty : Convert.ToString(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty));
        }

        return heads;
    }
}
