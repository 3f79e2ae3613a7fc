using System.Security.Cryptography;
using Aim.Server.Storage;

namespace Aim.Server.Tests;

/// <summary>The SQLite write-ahead log under a steady stream of group-committed writes.</summary>
public sealed class DatabaseWalTests
{
    [Fact]
    public async Task The_log_restarts_instead_of_growing_while_writes_never_pause()
    {
        var dir = TestDirectories.Create("wal");
        string path = Path.Combine(dir.FullName, "aim.db");
        long written = 0;
        long walPeak = 0;
        await using (var db = Database.Sqlite(path))
        {
            await using (var setup = await db.OpenAsync())
            {
                await setup.ExecAsync("PRAGMA journal_mode=WAL; CREATE TABLE blobs (id TEXT PRIMARY KEY, body BLOB NOT NULL)", null);
            }

            // Eight writers that never pause (each write a random key and 3 KiB, so every commit adds several pages), and a
            // reader, as a busy server has: the timer's checkpoint alone never catches up with that. They stop after
            // six times the size at which the writer restarts the log, however long a busy machine takes.
            const long Target = 6 * Database.WalRestartBytes;
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            async Task WriteAsync()
            {
                while (!stop.IsCancellationRequested && Interlocked.Read(ref written) < Target)
                {
                    var body = RandomNumberGenerator.GetBytes(3072);
                    await db.WriteAsync((c, tx) => c.ExecAsync("INSERT INTO blobs (id, body) VALUES (@i, @b)", tx, ("@i", Guid.NewGuid().ToString("N")), ("@b", body)));
                    Interlocked.Add(ref written, body.Length);
                }
            }

            async Task ReadAsync()
            {
                while (!stop.IsCancellationRequested && Interlocked.Read(ref written) < Target)
                {
                    await db.ReadAsync(c => c.ScalarAsync("SELECT COUNT(*) FROM blobs WHERE id > 'f'", null));
                    walPeak = Math.Max(walPeak, WalBytes(path));
                }
            }

            await Task.WhenAll([.. Enumerable.Range(0, 8).Select(_ => Task.Run(WriteAsync)), Task.Run(ReadAsync)]);

            // The writer restarted the log (after finishing a long log's checkpoint), so the file never held everything written.
            Assert.True(written >= Target, $"the test wrote only {written / 1024 / 1024} MiB in 5 minutes");
            Assert.True(walPeak < 3 * Database.WalRestartBytes, $"the WAL reached {walPeak / 1024 / 1024} MiB for {written / 1024 / 1024} MiB written");
            Assert.True(db.WriterCheckpoints > 0, "the writer never finished a checkpoint");
            long rows = Convert.ToInt64(await db.ReadAsync(c => c.ScalarAsync("SELECT COUNT(*) FROM blobs", null)), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(rows > 0);
        }

        // Nothing written was lost to the restarts: the database reopens with every row intact.
        await using (var again = Database.Sqlite(path))
        {
            long count = Convert.ToInt64(await again.ReadAsync(c => c.ScalarAsync("SELECT COUNT(*) FROM blobs", null)), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(written / 3072, count);
        }

        dir.Delete(recursive: true);
    }

    private static long WalBytes(string path)
    {
        var wal = new FileInfo(path + "-wal");
        return wal.Exists ? wal.Length : 0;
    }
}
