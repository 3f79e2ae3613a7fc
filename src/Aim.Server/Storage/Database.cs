using System.Data.Common;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Aim.Server.Storage;

/// <summary>Which SQL engine holds the server's data.</summary>
internal enum SqlDialect
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Opens connections to the server database (SQLite file or PostgreSQL) and runs parameterized SQL. The SQL the
/// server writes is the common subset of both engines (ON CONFLICT, RETURNING, @name parameters); the few type
/// names that differ are substituted in <see cref="Migrations"/>. SQLite has one writer at a time, so writes in
/// this process are group-committed by one writer in this process (see <see cref="WriteAsync{T}"/>).
/// </summary>
internal sealed class Database : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _postgres;
    private readonly System.Threading.Channels.Channel<IWriteItem> _writes = System.Threading.Channels.Channel.CreateUnbounded<IWriteItem>(new() { SingleReader = true });
    private Task? _writer;
    private DbConnection? _writerConnection;

    private Database(SqlDialect dialect, string connectionString, NpgsqlDataSource? postgres)
    {
        Dialect = dialect;
        _connectionString = connectionString;
        _postgres = postgres;
    }

    public SqlDialect Dialect { get; }

    public static Database Sqlite(string path)
    {
        var builder = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 };
        return new Database(SqlDialect.Sqlite, builder.ToString(), null) { _walPath = Path.GetFullPath(path) + "-wal" };
    }

    public static Database Postgres(string connectionString)
    {
        // The server runs the same few statements per request: let Npgsql prepare them on each pooled connection,
        // unless the operator chose a setting.
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 3;
        }

        return new(SqlDialect.Postgres, builder.ConnectionString, NpgsqlDataSource.Create(builder.ConnectionString));
    }

    /// <summary>Opens a connection; <paramref name="forWrite"/> applies the writer's per-connection SQLite settings.</summary>
    public async ValueTask<DbConnection> OpenAsync(CancellationToken ct = default, bool forWrite = true)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(ct).ConfigureAwait(false);
        }

        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        if (!forWrite)
        {
            // WAL readers never wait for the writer; the pooled connection needs no per-open statements.
            return connection;
        }

        using var pragma = connection.CreateCommand();
        // WAL is a property of the file (set once at start, see Migrations); these two are per connection and cheap.
        pragma.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={BusyTimeoutMilliseconds};";
        await pragma.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return connection;
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction and completes once it is committed. On SQLite, concurrent writes are
    /// group-committed by one writer: each runs inside its own savepoint of a shared transaction (a failing one is rolled
    /// back alone), and every caller is answered only after the shared commit, so an acknowledged write is durable.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct = default)
    {
        if (Dialect == SqlDialect.Sqlite)
        {
            var item = new WriteItem<T>(work);
            if (!_writes.Writer.TryWrite(item))
            {
                throw new ObjectDisposedException(nameof(Database));
            }

            EnsureWriter();
            return item.Task;
        }

        return PostgresWriteAsync(work, ct);
    }

    private async Task<T> PostgresWriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var result = await work(connection, tx).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return result;
    }

    private void EnsureWriter()
    {
        if (_writer is null)
        {
            lock (_writes)
            {
                _writer ??= Task.Run(WriteLoopAsync);
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<IWriteItem>(MaxBatch);
        while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _writes.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                if (_writerConnection is null)
                {
                    _writerConnection = await OpenAsync().ConfigureAwait(false);
                    Sql.ReuseStatements(_writerConnection);

                    // Checkpoints (copying the WAL into the database file, with an fsync) run on a timer off this path;
                    // inside a commit they would stall every request queued behind it (RestartLongLogAsync keeps the WAL
                    // from growing without bound, and journal_size_limit cuts its file back after a restart). Savepoint
                    // journals stay in memory: each request's savepoint journals the pages it changes (~64 KB of the
                    // five-step decision), which otherwise spilled into a new temporary file per request (open, write, unlink).
                    await _writerConnection.ExecAsync("PRAGMA wal_autocheckpoint=0; PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=" + WalRestartBytes, null).ConfigureAwait(false);
                    _checkpoints ??= new Timer(_ => _ = CheckpointAsync(), null, CheckpointInterval, CheckpointInterval);
                }

                await using var tx = await _writerConnection.BeginTransactionAsync().ConfigureAwait(false);
                foreach (var item in batch)
                {
                    await _writerConnection.ExecAsync("SAVEPOINT w", tx).ConfigureAwait(false);
                    if (await item.RunAsync(_writerConnection, tx).ConfigureAwait(false))
                    {
                        await _writerConnection.ExecAsync("RELEASE w", tx).ConfigureAwait(false);
                    }
                    else
                    {
                        await _writerConnection.ExecAsync("ROLLBACK TO w", tx).ConfigureAwait(false);
                        await _writerConnection.ExecAsync("RELEASE w", tx).ConfigureAwait(false);
                    }
                }

                await tx.CommitAsync().ConfigureAwait(false);
                foreach (var item in batch)
                {
                    item.Complete();
                }

                await RestartLongLogAsync(_writerConnection).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The shared commit failed: nothing in the batch is durable, so every caller hears it.
                foreach (var item in batch)
                {
                    item.Fail(ex);
                }

                if (_writerConnection is not null)
                {
                    Sql.DisposeStatements(_writerConnection);
                    await _writerConnection.DisposeAsync().ConfigureAwait(false);
                    _writerConnection = null;
                }
            }
        }
    }

    private const int MaxBatch = 256;

    // How long a write connection waits for a lock before SQLite answers busy.
    private const int BusyTimeoutMilliseconds = 30_000;

    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(1);

    /// <summary>A WAL file longer than this (64 MiB) is checkpointed and restarted by the writer; also the size it is cut back to.</summary>
    internal const long WalRestartBytes = 64L * 1024 * 1024;

    private static readonly TimeSpan RestartRetry = TimeSpan.FromMilliseconds(250);
    private Timer? _checkpoints;
    private string? _walPath;
    private int _checkpointing;
    private long _lastRestart;
    private int _passDone;
    private int _writerCheckpoints;

    /// <summary>How many times the writer finished checkpointing a long log so it could start again (tests).</summary>
    internal int WriterCheckpoints => Volatile.Read(ref _writerCheckpoints);

    // The timer's PASSIVE checkpoint (below) copies the log into the database file off the request path, but under a steady
    // stream of writes it never catches up (it does not copy what is written while it runs, nor past a reader's snapshot),
    // so SQLite never starts the log again and the WAL file grows without bound: 1.9 GB within 30 s of the five-step load test.
    // When the file is past WalRestartBytes the writer checkpoints it in RESTART mode between batches, right after a timer
    // pass (then only the frames written during that pass are left to copy; 8-10% of the writer's time in the five-step
    // load, against 14-26% when it did not wait for a pass), or at once when the file is twice too long. Nothing is
    // written meanwhile, and readers get 200 ms to leave the log (else it tries again later). The next transaction then
    // writes the log from its start, and journal_size_limit cuts the file back.
    private async Task RestartLongLogAsync(DbConnection writer)
    {
        // Decided before looking at the file, so most batches cost no system call here.
        bool afterPass = Interlocked.Exchange(ref _passDone, 0) == 1;
        if (!afterPass && Stopwatch.GetElapsedTime(_lastRestart) < RestartRetry)
        {
            return;
        }

        var wal = new FileInfo(_walPath!);
        if (!wal.Exists || wal.Length <= (afterPass ? WalRestartBytes : 2 * WalRestartBytes))
        {
            return;
        }

        _lastRestart = Stopwatch.GetTimestamp();
        await writer.ExecAsync("PRAGMA busy_timeout=200", null).ConfigureAwait(false);
        try
        {
            // One row: busy (1 when a reader kept it from finishing), frames in the log, frames copied.
            if (await writer.QueryAsync("PRAGMA wal_checkpoint(RESTART)", null, static r => r.GetInt64(0)).ConfigureAwait(false) is [0])
            {
                Interlocked.Increment(ref _writerCheckpoints);
            }
        }
        catch (DbException)
        {
            // The batch is committed and answered; a checkpoint that could not run only means the log restarts later.
        }
        finally
        {
            await writer.ExecAsync($"PRAGMA busy_timeout={BusyTimeoutMilliseconds}", null).ConfigureAwait(false);
        }
    }

    // PASSIVE: copies what it can without blocking the writer or readers; a busy database simply waits for the next tick.
    private async Task CheckpointAsync()
    {
        if (Interlocked.Exchange(ref _checkpointing, 1) != 0)
        {
            return;
        }

        try
        {
            await using var connection = await OpenAsync(forWrite: false).ConfigureAwait(false);
            await connection.ExecAsync("PRAGMA wal_checkpoint(PASSIVE)", null).ConfigureAwait(false);
            Volatile.Write(ref _passDone, 1);
        }
        catch (DbException)
        {
            // The next tick tries again; SQLite also checkpoints when the last connection closes.
        }
        finally
        {
            Volatile.Write(ref _checkpointing, 0);
        }
    }

    private interface IWriteItem
    {
        /// <summary>Runs the work; false when it threw (its error is kept for <see cref="Complete"/>).</summary>
        Task<bool> RunAsync(DbConnection connection, DbTransaction tx);

        void Complete();

        void Fail(Exception error);
    }

    private sealed class WriteItem<T>(Func<DbConnection, DbTransaction, Task<T>> work) : IWriteItem
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _result;
        private Exception? _error;

        public Task<T> Task => _done.Task;

        public async Task<bool> RunAsync(DbConnection connection, DbTransaction tx)
        {
            try
            {
                _result = await work(connection, tx).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex)
            {
                _error = ex;
                return false;
            }
        }

        public void Complete()
        {
            if (_error is not null)
            {
                _done.TrySetException(_error);
            }
            else
            {
                _done.TrySetResult(_result!);
            }
        }

        public void Fail(Exception error) => _done.TrySetException(_error ?? error);
    }

    public Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken ct = default) =>
        WriteAsync<bool>(async (c, t) =>
        {
            await work(c, t).ConfigureAwait(false);
            return true;
        }, ct);

    public async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct, forWrite: false).ConfigureAwait(false);
        return await work(connection).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }

        if (_checkpoints is not null)
        {
            await _checkpoints.DisposeAsync().ConfigureAwait(false);
        }

        _writes.Writer.TryComplete();
        if (_writer is not null)
        {
            await _writer.ConfigureAwait(false);
        }

        if (_writerConnection is not null)
        {
            Sql.DisposeStatements(_writerConnection);
            await _writerConnection.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Small helpers over ADO.NET commands.</summary>
internal static class Sql
{
    // Prepared statements kept per connection (only the SQLite group-commit writer, which runs one statement at a time):
    // the same few INSERTs run for every request, and preparing them again each time costs the writer more than running them.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbConnection, Dictionary<string, DbCommand>> Statements = new();

    /// <summary>Keeps the commands this connection runs prepared for reuse; the connection must run one command at a time.</summary>
    public static void ReuseStatements(DbConnection connection) => Statements.AddOrUpdate(connection, new Dictionary<string, DbCommand>(StringComparer.Ordinal));

    /// <summary>Disposes the commands kept by <see cref="ReuseStatements"/> (before the connection is disposed).</summary>
    public static void DisposeStatements(DbConnection connection)
    {
        if (Statements.TryGetValue(connection, out var commands))
        {
            foreach (var command in commands.Values)
            {
                command.Dispose();
            }

            Statements.Remove(connection);
        }
    }

    /// <summary>A command for <paramref name="sql"/>; dispose it through <see cref="Release"/> (kept commands stay open).</summary>
    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        if (Statements.TryGetValue(connection, out var kept) && kept.TryGetValue(sql, out var reused) && reused.Parameters.Count == parameters.Length)
        {
            reused.Transaction = tx;
            for (int i = 0; i < parameters.Length; i++)
            {
                var p = reused.Parameters[i];
                if (p.ParameterName != parameters[i].Name)
                {
                    return Fresh(connection, sql, tx, parameters);
                }

                p.ResetDbType();
                Bind(p, parameters[i].Value);
            }

            return reused;
        }

        var command = Fresh(connection, sql, tx, parameters);
        if (kept is not null && kept.Count < 256)
        {
            kept.TryAdd(sql, command);
        }

        return command;
    }

    /// <summary>Disposes a command from <see cref="Command"/> unless its connection keeps it for reuse.</summary>
    public static ValueTask Release(this DbCommand command) =>
        command.Connection is { } c && Statements.TryGetValue(c, out var kept) && kept.TryGetValue(command.CommandText, out var k) && ReferenceEquals(k, command)
            ? ValueTask.CompletedTask
            : command.DisposeAsync();

    private static DbCommand Fresh(DbConnection connection, string sql, DbTransaction? tx, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            Bind(p, value);
            command.Parameters.Add(p);
        }

        return command;
    }

    private static void Bind(DbParameter p, object? value)
    {
        if (value is NullOf typed)
        {
            p.DbType = typed.Type;
            p.Value = DBNull.Value;
        }
        else if (value is null)
        {
            // Typed so PostgreSQL can infer "@x IS NULL" parameters.
            p.DbType = System.Data.DbType.String;
            p.Value = DBNull.Value;
        }
        else
        {
            p.Value = value;
        }
    }

    public static async Task<int> ExecAsync(this DbConnection connection, string sql, DbTransaction? tx, params (string, object?)[] parameters)
    {
        var command = connection.Command(sql, tx, parameters);
        try
        {
            return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        finally
        {
            await command.Release().ConfigureAwait(false);
        }
    }

    public static async Task<object?> ScalarAsync(this DbConnection connection, string sql, DbTransaction? tx, params (string, object?)[] parameters)
    {
        var command = connection.Command(sql, tx, parameters);
        try
        {
            var value = await command.ExecuteScalarAsync().ConfigureAwait(false);
            return value is DBNull ? null : value;
        }
        finally
        {
            await command.Release().ConfigureAwait(false);
        }
    }

    public static async Task<List<T>> QueryAsync<T>(this DbConnection connection, string sql, DbTransaction? tx, Func<DbDataReader, T> map, params (string, object?)[] parameters)
    {
        var command = connection.Command(sql, tx, parameters);
        try
        {
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            var list = new List<T>();
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                list.Add(map(reader));
            }

            return list;
        }
        finally
        {
            await command.Release().ConfigureAwait(false);
        }
    }

    public static async Task<T?> SingleAsync<T>(this DbConnection connection, string sql, DbTransaction? tx, Func<DbDataReader, T> map, params (string, object?)[] parameters)
        where T : class
    {
        var list = await connection.QueryAsync(sql, tx, map, parameters).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    /// <summary>A nullable 64-bit value as a parameter (a typed NULL when absent).</summary>
    public static object Long(long? value) => value is { } v ? v : new NullOf(System.Data.DbType.Int64);

    public static string? NullableString(this DbDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    public static long? NullableInt64(this DbDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetInt64(i);

    public static byte[] Bytes(this DbDataReader reader, int i) => (byte[])reader.GetValue(i);
}

/// <summary>A NULL parameter of a known type.</summary>
internal sealed record NullOf(System.Data.DbType Type);
