using System.Text;
using Microsoft.Data.Sqlite;

namespace Aim.Audit;

/// <summary>
/// Inserts rows with multi-row <c>INSERT ... VALUES (...), (...)</c> statements, prepared once per row count:
/// one statement per 64 rows instead of one per row keeps the single writer thread off the per-call overhead.
/// </summary>
internal sealed class BulkInsert : IDisposable
{
    private const int RowsPerStatement = 64;
    private readonly SqliteConnection _connection;
    private readonly string _prefix;
    private readonly int _columns;
    private readonly Dictionary<int, SqliteCommand> _commands = [];
    private readonly List<object> _values = [];

    public BulkInsert(SqliteConnection connection, string table, params string[] columns)
    {
        _connection = connection;
        _prefix = $"INSERT INTO {table}({string.Join(", ", columns)}) VALUES ";
        _columns = columns.Length;
    }

    public void Add(long a, object b)
    {
        _values.Add(a);
        _values.Add(b);
    }

    public void Add(int a, long b, object c)
    {
        _values.Add(a);
        _values.Add(b);
        _values.Add(c);
    }

    public void Clear() => _values.Clear();

    /// <summary>Executes the buffered rows inside <paramref name="transaction"/> and clears the buffer.</summary>
    public void Execute(SqliteTransaction transaction)
    {
        var rows = _values.Count / _columns;
        var offset = 0;
        while (rows > 0)
        {
            var chunk = Math.Min(rows, RowsPerStatement);
            var command = CommandFor(chunk);
            command.Transaction = transaction;
            for (var i = 0; i < chunk * _columns; i++)
            {
                command.Parameters[i].Value = _values[offset + i];
            }

            command.ExecuteNonQuery();
            offset += chunk * _columns;
            rows -= chunk;
        }

        _values.Clear();
    }

    private SqliteCommand CommandFor(int rows)
    {
        if (_commands.TryGetValue(rows, out var command))
        {
            return command;
        }

        var sql = new StringBuilder(_prefix);
        command = _connection.CreateCommand();
        for (var r = 0; r < rows; r++)
        {
            sql.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < _columns; c++)
            {
                var name = $"$p{(r * _columns) + c}";
                sql.Append(c == 0 ? name : ", " + name);
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            sql.Append(')');
        }

        command.CommandText = sql.ToString();
        command.Prepare();
        _commands[rows] = command;
        return command;
    }

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
    }
}
