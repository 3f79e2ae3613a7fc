using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;
using Aim.Json;
using static Aim.Core.Tests.Audit.AuditTestData;

namespace Aim.Core.Tests.Audit;

public sealed class AuditLogTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly Ed25519KeyPair _logKey = LogKey();
    private readonly Ed25519KeyPair _agent = AgentKey();

    public void Dispose()
    {
        _logKey.Dispose();
        _agent.Dispose();
        _dir.Dispose();
    }

    private string LogPath => _dir.File("audit.db");

    [Fact]
    public void Appends_get_consecutive_indexes_and_read_back_unchanged()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 21, 10, 0, 0, 123, TimeSpan.Zero).AddTicks(4567));
        using var log = AuditLog.Open(LogPath, _logKey, time: clock);
        var record = Record(1) with
        {
            Kind = AuditEntryKind.Outcome,
            Risk = RiskLevel.Critical,
            Outcome = "error",
            Error = "InvalidOperationException: boom",
            OnBehalfOf = "user:alice",
            Method = "RefundAsync",
            Reason = "granted by policy",
            Arguments = new JsonObject { ["orderId"] = "o-1", ["amount"] = 12.5 },
            Result = new JsonArray(1, 2),
            Details = new JsonObject { ["approver"] = "bob", ["intent"] = new JsonObject { ["verdict"] = "ok" } },
        };

        Assert.Equal(0, log.Append(Record(0), _agent));
        Assert.Equal(1, log.Append(record, _agent));
        Assert.Equal(2, log.Count);

        var entry = log.Get(1)!;
        Assert.Equal(1, entry.Index);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 10, 0, 0, 123, TimeSpan.Zero), entry.Time);
        Assert.Equal(_agent.PublicKey.ToArray(), entry.AgentPublicKey);
        var back = entry.Record;
        Assert.Equal(record with { Arguments = null, Result = null, Details = null }, back with { Arguments = null, Result = null, Details = null });
        Assert.Equal("{\"amount\":12.5,\"orderId\":\"o-1\"}", back.Arguments!.ToJsonString());
        Assert.Equal("[1,2]", back.Result!.ToJsonString());
        Assert.Equal("bob", (string?)back.Details!["approver"]);
        Assert.Equal(SHA256.HashData([0x00, .. entry.CanonicalBytes]), entry.LeafHash);
        Assert.Null(log.Get(2));
        Assert.Null(log.Get(-1));
        Assert.Equal(2, log.Read(0, 10).Count);
        Assert.Single(log.Read(1, 10));
        Assert.Empty(log.Read(5, 10));
    }

    /// <summary>
    /// Prepared records live in pooled buffers that are longer than the record and reused once an entry is committed: a
    /// short record written into a buffer that held a long one must carry only its own bytes, in every entry.
    /// </summary>
    [Fact]
    public async Task Entries_prepared_in_reused_buffers_carry_only_their_own_bytes()
    {
        await using var log = AuditLog.Open(LogPath, _logKey);
        var records = new List<AuditRecord>();
        for (int round = 0; round < 6; round++)
        {
            // Long records (their buffers go back to the pool once committed), then short ones that rent those buffers.
            for (int i = 0; i < 40; i++)
            {
                records.Add(Record(records.Count) with { Reason = new string((char)('a' + round), 300 + i), Error = "E" + new string('x', 200) });
            }

            for (int i = 0; i < 40; i++)
            {
                records.Add(Record(records.Count) with { Resource = null, ReasonCode = null, DurationMs = null });
            }

            foreach (var record in records.Skip(round * 80))
            {
                log.AppendUntracked(record, _agent);
            }

            await log.FlushAsync();
        }

        Assert.Equal(records.Count, log.Count);
        var entries = log.Read(0, records.Count);
        for (int i = 0; i < records.Count; i++)
        {
            Assert.Equal(records[i], entries[i].Record);
            Assert.Equal(CanonicalJson.Serialize(JsonNode.Parse(entries[i].CanonicalBytes)!), entries[i].CanonicalBytes);
        }

        Assert.True(log.Verify().IsValid);
    }

    [Fact]
    public void Entry_body_is_canonical_json_signed_without_sig_and_omits_nulls()
    {
        using var log = AuditLog.Open(LogPath, _logKey);
        var record = Record(3) with { Resource = null, ArgumentsDigest = null, DurationMs = null, Details = new JsonObject { ["z"] = 1, ["a"] = "\u00e9" } };
        log.Append(record, _agent);
        var entry = log.Get(0)!;
        var text = Encoding.UTF8.GetString(entry.CanonicalBytes);

        Assert.Equal(text, CanonicalJson.Canonicalize(text));
        var json = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(
            new[] { "action_id", "agent", "capability", "decision", "details", "index", "kind", "reason_code", "risk", "sig", "time", "v" },
            json.Select(p => p.Key).ToArray());
        Assert.Equal("authorized", (string?)json["kind"]);
        Assert.Equal("low", (string?)json["risk"]);
        Assert.Equal(0, (long)json["index"]!);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string)json["time"]!);
        Assert.Equal(Base64UrlNoPad(_agent.PublicKey), (string?)json["agent"]!["key"]);

        json.Remove("sig");
        var signed = CanonicalJson.Serialize(json);
        Assert.True(Ed25519.Verify(entry.AgentPublicKey, signed, entry.Signature));
    }

    private static string Base64UrlNoPad(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [Fact]
    public async Task Concurrent_appends_are_gapless_and_the_log_verifies()
    {
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { TreeHeadEvery = 100 });
        var tasks = Enumerable.Range(0, 1500).Select(i => log.AppendAsync(Record(i), _agent).AsTask()).ToArray();
        var indexes = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i), indexes.Order());
        Assert.Equal(1500, log.Count);
        var result = log.Verify();
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(1500, result.EntriesChecked);
        Assert.NotNull(result.LatestHead);
        Assert.Equal(0, result.LatestHead!.TreeSize % 100);
    }

    [Fact]
    public void Reopened_log_keeps_entries_root_and_continues_numbering()
    {
        byte[] root;
        using (var log = AuditLog.Open(LogPath, _logKey))
        {
            for (var i = 0; i < 13; i++)
            {
                log.Append(Record(i), _agent);
            }

            root = log.GetRootHash(13);
        }

        using (var log = AuditLog.Open(LogPath, _logKey))
        {
            Assert.Equal(13, log.Count);
            Assert.Equal(root, log.GetRootHash(13));
            Assert.Equal(13, log.Append(Record(13), _agent));
            var proof = log.GetConsistencyProof(13, 14);
            Assert.True(ConsistencyProof.Verify(root, log.GetRootHash(14), proof));
            Assert.True(log.Verify().IsValid);
        }

        var result = AuditVerifier.VerifyFile(LogPath);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(14, result.EntriesChecked);
        Assert.Equal(14, result.LatestHead!.TreeSize); // dispose wrote a final head
    }

    [Fact]
    public void Proofs_from_the_log_verify_against_signed_tree_heads()
    {
        using var log = AuditLog.Open(LogPath, _logKey);
        for (var i = 0; i < 21; i++)
        {
            log.Append(Record(i), _agent);
        }

        var early = log.CreateTreeHead();
        for (var i = 21; i < 40; i++)
        {
            log.Append(Record(i), _agent);
        }

        var head = log.CreateTreeHead();
        Assert.True(early.VerifySignature());
        Assert.True(head.VerifySignature());
        Assert.Equal(40, head.TreeSize);
        Assert.Equal(_logKey.PublicKey.ToArray(), head.LogPublicKey);
        Assert.Equal(log.LogPublicKey, head.LogPublicKey);
        Assert.Equal(log.GetRootHash(40), head.RootHash);

        for (var i = 0; i < 40; i++)
        {
            var proof = log.GetInclusionProof(i, head.TreeSize);
            Assert.True(InclusionProof.Verify(log.Get(i)!.LeafHash, proof, head.RootHash));
        }

        Assert.True(ConsistencyProof.Verify(early.RootHash, head.RootHash, log.GetConsistencyProof(early.TreeSize, head.TreeSize)));
        Assert.False(ConsistencyProof.Verify(head.RootHash, early.RootHash, log.GetConsistencyProof(early.TreeSize, head.TreeSize)));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.GetInclusionProof(40, 40));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.GetInclusionProof(0, 41));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.GetInclusionProof(-1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.GetConsistencyProof(10, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.GetConsistencyProof(1, 41));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.GetRootHash(41));
    }

    [Fact]
    public void Tree_head_json_round_trips_and_rejects_tampering()
    {
        using var log = AuditLog.Open(LogPath, _logKey);
        log.Append(Record(0), _agent);
        var head = log.CreateTreeHead();
        var parsed = SignedTreeHead.FromJson(head.ToJson());

        Assert.Equal(head.TreeSize, parsed.TreeSize);
        Assert.Equal(head.RootHash, parsed.RootHash);
        Assert.Equal(head.Timestamp, parsed.Timestamp);
        Assert.True(parsed.VerifySignature());
        Assert.False((parsed with { TreeSize = 2 }).VerifySignature());
        Assert.False((parsed with { RootHash = new byte[32] }).VerifySignature());
        Assert.False((parsed with { Signature = new byte[10] }).VerifySignature());

        foreach (var bad in new[] { "", "{}", "[]", "null", "{\"tree_size\":1}", head.ToJson().Replace("aim-audit-sth/1", "x"), head.ToJson().Replace("\"tree_size\":1", "\"tree_size\":-1"), "{\"a\":" })
        {
            var ex = Assert.Throws<AuditLogException>(() => SignedTreeHead.FromJson(bad));
            Assert.Equal("aim_audit_tree_head_invalid", ex.Code);
        }
    }

    [Fact]
    public async Task Flush_writes_a_tree_head_to_the_database_and_the_side_file()
    {
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { TreeHeadEvery = 0 });
        await log.AppendAsync(Record(0), _agent);
        await log.AppendAsync(Record(1), _agent);
        await log.FlushAsync();

        var lines = File.ReadAllLines(LogPath + ".heads");
        var head = SignedTreeHead.FromJson(Assert.Single(lines));
        Assert.Equal(2, head.TreeSize);
        Assert.True(head.VerifySignature());
        await log.FlushAsync(); // nothing new: no second head
        Assert.Single(File.ReadAllLines(LogPath + ".heads"));
    }

    [Fact]
    public void Invalid_records_are_rejected_before_anything_is_written()
    {
        using var log = AuditLog.Open(LogPath, _logKey);
        Assert.Throws<ArgumentException>(() => log.Append(Record(0) with { ActionId = "" }, _agent));
        Assert.Throws<ArgumentException>(() => log.Append(Record(0) with { Capability = null! }, _agent));
        Assert.Throws<ArgumentException>(() => log.Append(Record(0) with { AgentName = "bad \ud800" }, _agent));
        Assert.Throws<ArgumentException>(() => log.Append(Record(0) with { Reason = "bad \udc00 reason" }, _agent));
        Assert.Throws<ArgumentException>(() => log.Append(Record(0) with { DurationMs = double.NaN }, _agent));
        Assert.Throws<ArgumentException>(() => log.Append(Record(0) with { Arguments = new JsonObject { ["x"] = double.PositiveInfinity } }, _agent));
        Assert.ThrowsAny<ArgumentException>(() => log.Append(Record(0) with { Risk = (RiskLevel)42 }, _agent));
        Assert.ThrowsAny<ArgumentException>(() => log.Append(Record(0) with { Kind = (AuditEntryKind)9 }, _agent));
        Assert.Throws<ArgumentNullException>(() => log.Append(null!, _agent));
        Assert.Throws<ArgumentNullException>(() => log.Append(Record(0), null!));
        Assert.Equal(0, log.Count);
        Assert.Equal(0, log.Append(Record(0), _agent));
    }

    [Fact]
    public async Task A_disposed_agent_key_fails_only_its_own_append_and_keeps_indexes_gapless()
    {
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxCommitDelay = TimeSpan.FromMilliseconds(50) });
        var disposedKey = Ed25519KeyPair.Generate();
        disposedKey.Dispose();
        var tasks = new List<Task<long>>();
        for (var i = 0; i < 10; i++)
        {
            tasks.Add(log.AppendAsync(Record(i), i == 4 ? disposedKey : _agent).AsTask());
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(() => tasks[4]);
        var indexes = await Task.WhenAll(tasks.Where((_, i) => i != 4));
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), indexes.Order());
        Assert.True(log.Verify().IsValid);
    }

    [Fact]
    public async Task Untracked_appends_are_committed_signed_and_a_failed_one_is_logged_without_a_gap()
    {
        var logger = new RecordingLogger();
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxCommitDelay = TimeSpan.FromMilliseconds(20) }, logger: logger);
        var disposedKey = Ed25519KeyPair.Generate();
        disposedKey.Dispose();
        for (var i = 0; i < 10; i++)
        {
            log.AppendUntracked(Record(i), i == 4 ? disposedKey : _agent);
        }

        // A tracked append after them completes only once everything queued before it is committed.
        Assert.Equal(9, await log.AppendAsync(Record(10), _agent));
        await log.FlushAsync();
        Assert.Equal(10, log.Count);
        Assert.Equal(new[] { "act-0", "act-1", "act-2", "act-3", "act-5", "act-6", "act-7", "act-8", "act-9", "act-10" }, log.Read(0, 10).Select(e => e.Record.ActionId));
        Assert.True(log.Verify().IsValid);
        var failure = Assert.Single(logger.Errors);
        Assert.Contains("act-4", failure.Message, StringComparison.Ordinal);
        Assert.IsType<ObjectDisposedException>(failure.Exception);
    }

    [Fact]
    public async Task Untracked_appends_wait_for_the_writer_instead_of_queueing_without_bound()
    {
        // A tiny queue and batches: four producers outpace the writer, block at the bound, and lose nothing. (The flush
        // below may join a full queue: the bound holds back only appends nobody awaits.)
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxQueuedUntracked = 3, MaxBatchSize = 2 });
        var producers = Enumerable.Range(0, 4).Select(p => Task.Run(() =>
        {
            for (var i = 0; i < 150; i++)
            {
                log.AppendUntracked(Record(p * 1000 + i), _agent);
            }
        })).ToArray();
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromMinutes(2));
        await log.FlushAsync();

        Assert.Equal(600, log.Count);
        Assert.InRange(log.PeakQueued, 1, 3);
        Assert.Equal(600, log.Read(0, 600).Select(e => e.Record.ActionId).Distinct().Count());
        Assert.True(log.Verify().IsValid);
    }

    [Fact]
    public async Task Appends_nobody_awaits_arriving_one_by_one_share_a_commit()
    {
        // Ten records 10 ms apart, well inside one 1 s window: one transaction (before, each lone record was committed,
        // fsynced, at once). An awaited append is not held back by the window (shown by Tracked_lone_append...).
        var window = TimeSpan.FromSeconds(1);
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxCommitDelay = window });
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 10; i++)
        {
            log.AppendUntracked(Record(i), _agent);
            await Task.Delay(10);
        }

        // On a machine so busy that the loop outlasts windows, each window that passed may hold one more commit.
        var windowsPassed = (int)(Stopwatch.GetElapsedTime(started) / window);
        await log.FlushAsync();
        Assert.Equal(10, log.Count);
        Assert.InRange(log.CommittedBatches, 1, 2 + windowsPassed);
        Assert.True(log.Verify().IsValid);
    }

    [Fact]
    public async Task Tracked_lone_append_is_committed_without_waiting_for_the_window()
    {
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxCommitDelay = TimeSpan.FromMinutes(10) });
        Assert.Equal(0, await log.AppendAsync(Record(0), _agent).AsTask().WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Equal(1, log.CommittedBatches);
    }

    [Fact]
    public void A_queue_bound_below_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxQueuedUntracked = 0 }));
    }

    [Fact]
    public void An_invalid_untracked_record_is_refused_on_the_callers_thread()
    {
        using var log = AuditLog.Open(LogPath, _logKey);
        Assert.Throws<ArgumentException>(() => log.AppendUntracked(Record(0) with { ActionId = "" }, _agent));
        Assert.Throws<ArgumentException>(() => log.AppendUntracked(Record(0) with { Reason = "bad \ud800" }, _agent));
        log.Dispose();
        Assert.Throws<AuditLogException>(() => log.AppendUntracked(Record(1), _agent));
    }

    private sealed class RecordingLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<(string Message, Exception? Exception)> Errors { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Error)
            {
                lock (Errors)
                {
                    Errors.Add((formatter(state, exception), exception));
                }
            }
        }
    }

    [Fact]
    public async Task Tiny_batches_keep_order_and_verify()
    {
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxBatchSize = 3, MaxCommitDelay = TimeSpan.Zero, TreeHeadEvery = 7 });
        var indexes = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => log.AppendAsync(Record(i), _agent).AsTask()));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), indexes.Order());
        foreach (var index in indexes)
        {
            Assert.Equal(index, log.Get(index)!.Index);
        }

        Assert.True(log.Verify().IsValid);
    }

    [Fact]
    public async Task Verify_while_appending_sees_a_consistent_snapshot()
    {
        await using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { TreeHeadEvery = 50 });
        var appends = Task.Run(async () =>
        {
            for (var round = 0; round < 6; round++)
            {
                await Task.WhenAll(Enumerable.Range(0, 250).Select(i => log.AppendAsync(Record(i), _agent).AsTask()));
            }
        });

        for (var i = 0; i < 4; i++)
        {
            var result = await Task.Run(() => log.Verify()).WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(result.IsValid, result.Message);
        }

        await appends.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(log.Verify().IsValid);
    }

    [Fact]
    public void A_failed_commit_fails_its_appends_and_the_log_recovers_without_gaps()
    {
        using var log = AuditLog.Open(LogPath, _logKey, new AuditLogOptions { TreeHeadEvery = 0 });
        for (var i = 0; i < 3; i++)
        {
            log.Append(Record(i), _agent);
        }

        // Another connection takes the next row, so the writer's transaction fails on a constraint.
        Sql(LogPath, "INSERT INTO entries(idx, body) VALUES (3, x'00')");
        var ex = Assert.Throws<AuditLogException>(() => log.Append(Record(3), _agent));
        Assert.Equal("aim_audit_unavailable", ex.Code);
        Assert.Equal(3, log.Count);

        Sql(LogPath, "DELETE FROM entries WHERE idx = 3");
        Assert.Equal(3, log.Append(Record(4), _agent));
        Assert.Equal(4, log.Append(Record(5), _agent));
        var result = log.Verify();
        Assert.True(result.IsValid, result.Message);
    }

    [Fact]
    public void Appending_after_dispose_throws_unavailable()
    {
        var log = AuditLog.Open(LogPath, _logKey);
        log.Dispose();
        log.Dispose();
        var ex = Assert.Throws<AuditLogException>(() => log.Append(Record(0), _agent));
        Assert.Equal("aim_audit_unavailable", ex.Code);
    }

    [Fact]
    public void A_second_writer_on_the_same_file_is_refused()
    {
        using var log = AuditLog.Open(LogPath, _logKey);
        var ex = Assert.Throws<AuditLogException>(() => AuditLog.Open(LogPath, _logKey));
        Assert.Equal("aim_audit_in_use", ex.Code);
    }

    [Fact]
    public void Opening_with_another_log_key_is_refused()
    {
        CreateLog(LogPath, 2);
        using var other = Ed25519KeyPair.Generate();
        var ex = Assert.Throws<AuditLogException>(() => AuditLog.Open(LogPath, other));
        Assert.Equal("aim_audit_key_mismatch", ex.Code);
    }

    [Fact]
    public void A_non_sqlite_file_is_refused_and_left_untouched()
    {
        var bytes = RandomNumberGenerator.GetBytes(8192);
        File.WriteAllBytes(LogPath, bytes);
        var ex = Assert.Throws<AuditLogException>(() => AuditLog.Open(LogPath, _logKey));
        Assert.Equal("aim_audit_corrupt", ex.Code);
        Assert.Contains(LogPath, ex.Message);
        Assert.Equal(bytes, File.ReadAllBytes(LogPath));

        var verdict = AuditVerifier.VerifyFile(LogPath);
        Assert.False(verdict.IsValid);
        Assert.Equal("log_unreadable", verdict.ReasonCode);
    }

    [Fact]
    public void A_foreign_sqlite_database_is_refused_and_left_untouched()
    {
        Sql(LogPath, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers(name) VALUES ('x');");
        var before = File.ReadAllBytes(LogPath);
        var ex = Assert.Throws<AuditLogException>(() => AuditLog.Open(LogPath, _logKey));
        Assert.Equal("aim_audit_corrupt", ex.Code);
        Assert.Contains(LogPath, ex.Message);
        Assert.Equal(before, File.ReadAllBytes(LogPath));
        Assert.False(File.Exists(LogPath + "-wal") && new FileInfo(LogPath + "-wal").Length > 0);
        Assert.Equal("log_unreadable", AuditVerifier.VerifyFile(LogPath).ReasonCode);
    }

    [Fact]
    public void Verifying_a_missing_file_reports_unreadable()
    {
        var result = AuditVerifier.VerifyFile(_dir.File("nope.db"));
        Assert.False(result.IsValid);
        Assert.Equal("log_unreadable", result.ReasonCode);
    }

    [Fact]
    public void Empty_log_verifies()
    {
        using (var log = AuditLog.Open(LogPath, _logKey))
        {
            Assert.Equal(0, log.Count);
            Assert.True(log.Verify().IsValid);
            Assert.Equal(0, log.CreateTreeHead().TreeSize);
        }

        Assert.True(AuditVerifier.VerifyFile(LogPath).IsValid);
    }

    [Fact]
    public void Open_rejects_bad_arguments()
    {
        Assert.Throws<ArgumentException>(() => AuditLog.Open("", _logKey));
        Assert.Throws<ArgumentNullException>(() => AuditLog.Open(LogPath, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => AuditLog.Open(LogPath, _logKey, new AuditLogOptions { MaxBatchSize = 0 }));
        var ex = Assert.Throws<AuditLogException>(() => AuditLog.Open(_dir.File("missing/dir/audit.db"), _logKey));
        Assert.Equal("aim_audit_unavailable", ex.Code);
        Directory.CreateDirectory(_dir.File("a-directory"));
        Assert.Equal("aim_audit_unavailable", Assert.Throws<AuditLogException>(() => AuditLog.Open(_dir.File("a-directory"), _logKey)).Code);
    }
}
