using System.Diagnostics;
using Aim.Crypto;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim.Audit;

/// <summary>
/// The append-only, tamper-evident audit log: an RFC 9162 Merkle tree over RFC 8785 JSON entries, each signed by
/// the acting agent's Ed25519 key, stored in SQLite (WAL, <c>synchronous=FULL</c>). Appends are group-committed by
/// one writer thread: an append completes only after the transaction holding it is durable, so an acknowledged
/// entry survives a crash. Signed tree heads (signed with the log key) are written every
/// <see cref="AuditLogOptions.TreeHeadEvery"/> entries, on flush and on dispose, to the database and to the
/// append-only side file <c>&lt;path&gt;.heads</c>.
/// </summary>
/// <remarks>
/// One <see cref="AuditLog"/> per file: <see cref="Open"/> takes an exclusive lock on <c>&lt;path&gt;.lock</c>.
/// All members are thread-safe. Dispose flushes pending appends and writes a final tree head.
/// </remarks>
public sealed class AuditLog : IAsyncDisposable, IDisposable
{
    private readonly Ed25519KeyPair _logKey;
    private readonly AuditLogOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FileStream _lockFile;
    private readonly SqliteConnection _writer;
    private readonly SqliteConnection _reader;
    private readonly TreeHeadFile _headFile;
    private readonly BulkInsert _insertEntries;
    private readonly BulkInsert _insertNodes;
    private readonly SqliteCommand _insertHead;

    private readonly object _queueLock = new();
    private readonly List<WorkItem> _queue = [];
    private int _producersWaiting;

    /// <summary>The longest the queue ever was just after an untracked append joined it (tests check the bound; a flush
    /// or an awaited append may join a full queue, the bound holds back only appends nobody awaits).</summary>
    internal int PeakQueued { get; private set; }

    /// <summary>How many append transactions were committed (tests check group commit).</summary>
    internal int CommittedBatches { get; private set; }
    private readonly object _readerLock = new();
    private readonly object _commitLock = new(); // held while a commit becomes visible and the in-memory state follows
    private readonly Thread _sealer;
    private readonly Thread _committer;
    private readonly Handoff<List<WorkItem>> _sealed = new(capacity: 2);
    private readonly object _sealLock = new();
    private long _sealedNext;          // the index the next sealed entry gets (sealed, not yet committed, counts)

    private MerkleFrontier _frontier;  // committed state; replaced (never mutated) under _commitLock
    private long _count;
    private long _lastHeadSize;        // writer thread only
    private SignedTreeHead? _lastHead; // writer thread only
    private bool _closing;
    private int _disposed;

    private AuditLog(string path, Ed25519KeyPair logKey, AuditLogOptions options, TimeProvider time, ILogger logger,
        FileStream lockFile, SqliteConnection writer, SqliteConnection reader, TreeHeadFile headFile,
        MerkleFrontier frontier, long lastHeadSize)
    {
        Path = path;
        _logKey = logKey;
        _options = options;
        _time = time;
        _logger = logger;
        _lockFile = lockFile;
        _writer = writer;
        _reader = reader;
        _headFile = headFile;
        _frontier = frontier;
        _count = frontier.Size;
        _lastHeadSize = lastHeadSize;

        _insertEntries = new BulkInsert(writer, "entries", "idx", "body");
        _insertNodes = new BulkInsert(writer, "nodes", "level", "idx", "hash");
        _insertHead = Command(writer, "INSERT INTO heads(tree_size, json) VALUES ($a, $b);");
        _sealedNext = frontier.Size;

        // Two stages so signing the next batch overlaps committing (and fsyncing) the current one.
        _sealer = new Thread(SealLoop) { IsBackground = true, Name = "Aim audit sealer" };
        _committer = new Thread(CommitLoop) { IsBackground = true, Name = "Aim audit committer" };
        _committer.Start();
        _sealer.Start();
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>The log's Ed25519 public key, which signs its tree heads (a copy).</summary>
    public byte[] LogPublicKey => _logKey.PublicKey.ToArray();

    /// <summary>The number of durably committed entries (the next entry gets this index).</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>
    /// Opens the audit log at <paramref name="path"/>, creating it if the file does not exist or is empty.
    /// </summary>
    /// <param name="path">The SQLite database file. The side files <c>.heads</c> and <c>.lock</c> live beside it.</param>
    /// <param name="logKey">The log key that signs tree heads. The log keeps its own copy; a new log records its public
    /// key and an existing log only opens with the same key.</param>
    /// <param name="options">Group-commit and tree-head settings.</param>
    /// <param name="time">The clock for entry and head times (defaults to the system clock).</param>
    /// <param name="logger">Receives store failures.</param>
    /// <exception cref="AuditLogException">Code <c>aim_audit_corrupt</c>: the file is not SQLite, is damaged, or is not an Aim audit
    /// log (the file is left untouched); <c>aim_audit_key_mismatch</c>: the log was created with another log key;
    /// <c>aim_audit_in_use</c>: another <see cref="AuditLog"/> holds it; <c>aim_audit_unavailable</c>: it cannot be created or opened.</exception>
    /// <exception cref="ArgumentException">An argument or option is invalid.</exception>
    public static AuditLog Open(string path, Ed25519KeyPair logKey, AuditLogOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(logKey);
        options ??= new AuditLogOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxQueuedUntracked, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxCommitDelay, TimeSpan.Zero, nameof(options));
        var fullPath = System.IO.Path.GetFullPath(path);

        FileStream lockFile;
        try
        {
            lockFile = new FileStream(fullPath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex is not DirectoryNotFoundException)
        {
            throw new AuditLogException(AuditLogException.InUse, $"The audit log '{fullPath}' is already open by another writer.", ex);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new AuditLogException(AuditLogException.Unavailable, $"The audit log '{fullPath}' cannot be opened: {ex.Message}", ex);
        }

        SqliteConnection? writer = null, reader = null;
        TreeHeadFile? headFile = null;
        Ed25519KeyPair? ownKey = null;
        var exists = false;
        try
        {
            exists = File.Exists(fullPath) && new FileInfo(fullPath).Length > 0;
            if (exists)
            {
                // Look before touching, through a read-only connection (closing a writable one could checkpoint a
                // foreign WAL into the file): nothing is written to a file until it proves to be one of ours.
                using (var probe = AuditStore.OpenConnection(fullPath, SqliteOpenMode.ReadOnly))
                {
                    var storedKey = AuditStore.ReadLogKey(probe, out var problem)
                        ?? throw new AuditLogException(AuditLogException.Corrupt, $"'{fullPath}' is not an Aim audit log: {problem}. The file was not modified.");
                    if (!storedKey.AsSpan().SequenceEqual(logKey.PublicKey))
                    {
                        throw new AuditLogException(AuditLogException.KeyMismatch, $"The audit log '{fullPath}' was created with a different log key.");
                    }
                }

                writer = AuditStore.OpenConnection(fullPath, SqliteOpenMode.ReadWrite);
                AuditStore.Execute(writer, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
            }
            else
            {
                writer = AuditStore.OpenConnection(fullPath, SqliteOpenMode.ReadWriteCreate);
                AuditStore.Execute(writer, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
                AuditStore.CreateSchema(writer, logKey.PublicKey);
            }

            var count = AuditStore.NextIndex(writer);
            var frontier = MerkleFrontier.Restore(count, (level, index) => AuditStore.Node(writer, level, index));
            var lastHead = AuditStore.Scalar(writer, "SELECT MAX(tree_size) FROM heads;");
            var lastHeadSize = lastHead is long size ? size : -1;

            // Readers open read-write with query_only: a SQLITE_OPEN_READONLY connection may read the WAL index without
            // shared memory and see a stale snapshot while this process keeps committing.
            reader = AuditStore.OpenConnection(fullPath, SqliteOpenMode.ReadWrite);
            AuditStore.Execute(reader, "PRAGMA query_only = 1;");
            headFile = TreeHeadFile.OpenForAppend(fullPath);
            ownKey = Ed25519KeyPair.FromSecretKey(ExportSecret(logKey));
            return new AuditLog(fullPath, ownKey, options, time ?? TimeProvider.System, logger ?? NullLogger.Instance,
                lockFile, writer, reader, headFile, frontier, lastHeadSize);
        }
        catch (Exception ex)
        {
            ownKey?.Dispose();
            headFile?.Dispose();
            reader?.Dispose();
            writer?.Dispose();
            lockFile.Dispose();
            throw ex switch
            {
                AuditLogException => ex,
                SqliteException when !exists => new AuditLogException(AuditLogException.Unavailable,
                    $"The audit log '{fullPath}' cannot be created: {ex.Message}", ex),
                SqliteException or InvalidDataException => new AuditLogException(AuditLogException.Corrupt,
                    $"'{fullPath}' is not a readable Aim audit log: {ex.Message}", ex),
                IOException or UnauthorizedAccessException => new AuditLogException(AuditLogException.Unavailable,
                    $"The audit log '{fullPath}' cannot be opened: {ex.Message}", ex),
                _ => ex,
            };
        }
    }

    /// <summary>
    /// Appends an entry signed by <paramref name="agentKey"/>. Completes when the entry is durably committed
    /// (group commit) and returns its index.
    /// </summary>
    /// <param name="record">The action to record.</param>
    /// <param name="agentKey">The acting agent's key; it must not be disposed before the task completes.</param>
    /// <param name="ct">Stops waiting only: an entry already queued may still be committed.</param>
    /// <exception cref="ArgumentException">The record is invalid (a required member empty, an undefined enum, a
    /// non-finite number, an unpaired surrogate, JSON that cannot be canonicalized).</exception>
    /// <exception cref="AuditLogException">Code <c>aim_audit_unavailable</c>: the log is closed or the store failed;
    /// the entry was not committed.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="agentKey"/> was disposed.</exception>
    public ValueTask<long> AppendAsync(AuditRecord record, Ed25519KeyPair agentKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(agentKey);
        ct.ThrowIfCancellationRequested();
        var work = new AppendWork(AuditEntryCodec.Prepare(record, agentKey.PublicKey), agentKey, tracked: true, this);
        Enqueue(work);
        var task = work.Done!.Task;
        return new ValueTask<long>(ct.CanBeCanceled ? task.WaitAsync(ct) : task);
    }

    /// <summary>
    /// Queues an entry that nobody waits for (the embedded engine's records of low-risk actions): the same checks, numbering,
    /// signature and group commit as <see cref="AppendAsync"/>, without a task per entry. A failure to store it is logged
    /// by this log (its <see cref="ILogger"/>) instead of completing a task.
    /// </summary>
    /// <exception cref="ArgumentException">The record is invalid (as for <see cref="AppendAsync"/>).</exception>
    /// <exception cref="AuditLogException">Code <c>aim_audit_unavailable</c>: the log is closed.</exception>
    internal void AppendUntracked(AuditRecord record, Ed25519KeyPair agentKey)
    {
        ArgumentNullException.ThrowIfNull(agentKey);
        Enqueue(new AppendWork(AuditEntryCodec.Prepare(record, agentKey.PublicKey), agentKey, tracked: false, this), bounded: true);
    }

    /// <summary>Appends an entry and blocks until it is durably committed. See <see cref="AppendAsync"/>.</summary>
    /// <returns>The entry's index.</returns>
    /// <exception cref="ArgumentException">The record is invalid.</exception>
    /// <exception cref="AuditLogException">Code <c>aim_audit_unavailable</c>: the entry was not committed.</exception>
    public long Append(AuditRecord record, Ed25519KeyPair agentKey) =>
        AppendAsync(record, agentKey).AsTask().GetAwaiter().GetResult();

    /// <summary>Waits until every append queued before the call is committed, then writes a signed tree head
    /// if the log grew since the last one.</summary>
    /// <exception cref="AuditLogException">Code <c>aim_audit_unavailable</c>: the log is closed or the store failed.</exception>
    public Task FlushAsync(CancellationToken ct = default)
    {
        var work = new HeadWork(onlyIfChanged: true);
        Enqueue(work);
        return ct.CanBeCanceled ? work.Done.Task.WaitAsync(ct) : work.Done.Task;
    }

    /// <summary>Signs the current size and root with the log key, stores the head (database and side file) and returns it.
    /// Hand it to a party that can keep it safe; it pins the log's first <see cref="SignedTreeHead.TreeSize"/> entries.</summary>
    /// <exception cref="AuditLogException">Code <c>aim_audit_unavailable</c>: the log is closed or the store failed.</exception>
    public SignedTreeHead CreateTreeHead()
    {
        var work = new HeadWork(onlyIfChanged: false);
        Enqueue(work);
        return work.Done.Task.GetAwaiter().GetResult()!;
    }

    /// <summary>Reads up to <paramref name="count"/> committed entries starting at <paramref name="fromIndex"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative argument.</exception>
    /// <exception cref="AuditLogException">Code <c>aim_audit_corrupt</c>: a stored entry is damaged.</exception>
    public IReadOnlyList<AuditEntry> Read(long fromIndex, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var entries = new List<AuditEntry>(Math.Min(count, 4096));
        var bodies = ReadBodies(fromIndex, Math.Min(count, Math.Max(0, Count - fromIndex)));
        foreach (var body in bodies)
        {
            entries.Add(AuditEntryCodec.Decode(body));
        }

        return entries;
    }

    /// <summary>Reads one committed entry, or null when <paramref name="index"/> is not in the log.</summary>
    /// <exception cref="AuditLogException">Code <c>aim_audit_corrupt</c>: the stored entry is damaged.</exception>
    public AuditEntry? Get(long index)
    {
        if (index < 0 || index >= Count)
        {
            return null;
        }

        var bodies = ReadBodies(index, 1);
        return bodies.Count == 1 ? AuditEntryCodec.Decode(bodies[0]) : null;
    }

    /// <summary>The RFC 9162 root hash of the tree of the first <paramref name="treeSize"/> entries.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="treeSize"/> is negative or above <see cref="Count"/>.</exception>
    /// <exception cref="AuditLogException">Code <c>aim_audit_corrupt</c>: a stored subtree hash is missing.</exception>
    public byte[] GetRootHash(long treeSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(treeSize, Count);
        return WithProofs(p => p.SubtreeHash(0, treeSize));
    }

    /// <summary>The RFC 9162 inclusion proof of entry <paramref name="index"/> in the tree of the first
    /// <paramref name="treeSize"/> entries. Check it with <see cref="InclusionProof.Verify"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 0 &lt;= index &lt; treeSize &lt;= <see cref="Count"/>.</exception>
    /// <exception cref="AuditLogException">Code <c>aim_audit_corrupt</c>: a stored subtree hash is missing.</exception>
    public InclusionProof GetInclusionProof(long index, long treeSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(treeSize, Count);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, treeSize);
        return new InclusionProof(index, treeSize, WithProofs(p => p.InclusionPath(index, treeSize)));
    }

    /// <summary>The RFC 9162 consistency proof between the trees of the first <paramref name="oldSize"/> and
    /// <paramref name="newSize"/> entries. Check it with <see cref="ConsistencyProof.Verify"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 0 &lt;= oldSize &lt;= newSize &lt;= <see cref="Count"/>.</exception>
    /// <exception cref="AuditLogException">Code <c>aim_audit_corrupt</c>: a stored subtree hash is missing.</exception>
    public ConsistencyProof GetConsistencyProof(long oldSize, long newSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(oldSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(newSize, Count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, newSize);
        return new ConsistencyProof(oldSize, newSize, WithProofs(p => p.ConsistencyPath(oldSize, newSize)));
    }

    /// <summary>
    /// Verifies the whole log as committed so far: every signature, the index sequence, the Merkle tree against every
    /// signed tree head in the database, in the side file and <paramref name="trustedEarlierHead"/>, and against what
    /// this open log knows it committed. Never throws for a damaged log: the result names the first bad entry.
    /// </summary>
    /// <param name="trustedEarlierHead">A head obtained earlier and kept out of reach of the log's host, if any.</param>
    /// <param name="ct">Cancels the verification.</param>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public AuditVerificationResult Verify(SignedTreeHead? trustedEarlierHead = null, CancellationToken ct = default) =>
        Verify(trustedEarlierHead, trustedSigners: null, ct);

    /// <summary>
    /// As <see cref="Verify(SignedTreeHead?, CancellationToken)"/>, and also requires every entry to be signed by one of
    /// <paramref name="trustedSigners"/> (32-byte Ed25519 agent keys): an entry signed by any other key fails with
    /// <see cref="AuditReasonCodes.SignerUntrusted"/>.
    /// </summary>
    /// <param name="trustedEarlierHead">A head obtained earlier and kept out of reach of the log's host, if any.</param>
    /// <param name="trustedSigners">The agent keys allowed to sign entries; <see langword="null"/> accepts any valid signature.</param>
    /// <param name="ct">Cancels the verification.</param>
    /// <exception cref="ArgumentException">A trusted signer is not 32 bytes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public AuditVerificationResult Verify(SignedTreeHead? trustedEarlierHead, IEnumerable<byte[]>? trustedSigners, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var signers = AuditLogVerification.SignerSet(trustedSigners);
        using var connection = AuditStore.OpenConnection(Path, SqliteOpenMode.ReadWrite);
        AuditStore.Execute(connection, "PRAGMA query_only = 1;");
        var sideFile = TreeHeadFile.ReadLines(Path); // before the snapshot: every head in it is then covered
        AuditLogVerification.LiveState live;
        lock (_commitLock)
        {
            // Pin a read snapshot that matches the in-memory state exactly: no commit can land in between.
            AuditStore.Execute(connection, "BEGIN; SELECT COUNT(*) FROM entries;");
            live = new AuditLogVerification.LiveState(_frontier.Size, _frontier.Root());
        }

        try
        {
            return AuditLogVerification.Run(connection, Path, sideFile, trustedEarlierHead, live, ct, signers);
        }
        finally
        {
            AuditStore.Execute(connection, "ROLLBACK;");
        }
    }

    /// <summary>Commits pending appends, writes a final tree head if the log grew, and closes the files.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_queueLock)
        {
            _closing = true;
            Monitor.PulseAll(_queueLock);
        }

        _sealer.Join();
        _committer.Join();
        _insertEntries.Dispose();
        _insertNodes.Dispose();
        _insertHead.Dispose();
        lock (_readerLock)
        {
            _reader.Dispose();
        }

        _writer.Dispose();
        _headFile.Dispose();
        _logKey.Dispose();
        _lockFile.Dispose();
    }

    /// <summary>As <see cref="Dispose"/>, without blocking the calling thread on the final commit.</summary>
    public ValueTask DisposeAsync() => new(Task.Run(Dispose));

    private void Enqueue(WorkItem work, bool bounded = false)
    {
        lock (_queueLock)
        {
            // Backpressure for appends nobody awaits: wait for the writer rather than queue without bound. Awaited
            // appends are bounded by their callers (each waits for its own entry) and never block here.
            while (bounded && !_closing && _queue.Count >= _options.MaxQueuedUntracked)
            {
                _producersWaiting++;
                Monitor.Wait(_queueLock);
                _producersWaiting--;
            }

            if (_closing)
            {
                throw new AuditLogException(AuditLogException.Unavailable, $"The audit log '{Path}' is closed.");
            }

            _queue.Add(work);
            if (bounded)
            {
                PeakQueued = Math.Max(PeakQueued, _queue.Count);
            }

            if (_queue.Count == 1 || _queue.Count == _options.MaxBatchSize)
            {
                Monitor.PulseAll(_queueLock);
            }
        }
    }

    /// <summary>Stage 1: takes batches off the queue, numbers and signs them on all cores, hands them to the committer.</summary>
    private void SealLoop()
    {
        var batch = new List<WorkItem>();
        try
        {
            while (true)
            {
                batch = new List<WorkItem>();
                lock (_queueLock)
                {
                    while (_queue.Count == 0 && !_closing)
                    {
                        Monitor.Wait(_queueLock);
                    }

                    if (_queue.Count == 0)
                    {
                        break;
                    }

                    WaitForCompany();
                    var take = Math.Min(_queue.Count, _options.MaxBatchSize);
                    batch.AddRange(_queue.GetRange(0, take));
                    _queue.RemoveRange(0, take);
                    if (_producersWaiting > 0)
                    {
                        Monitor.PulseAll(_queueLock);
                    }
                }

                var appends = Appends(batch);
                if (appends.Count > 0)
                {
                    long first;
                    lock (_sealLock)
                    {
                        first = _sealedNext;
                        var live = SealBatch(appends, first, _time.GetUtcNow());
                        _sealedNext = first + live.Count;
                    }
                }

                _sealed.Add(batch);
            }
        }
        catch (Exception ex)
        {
            // Unreachable unless the writer itself is broken; fail everything so no caller waits forever.
            _logger.LogCritical(ex, "The audit sealer for {Path} stopped", Path);
            FailAll(batch, ex);
        }
        finally
        {
            _sealed.CompleteAdding();
        }
    }

    /// <summary>Stage 2: commits sealed batches in order, one transaction each, then completes their appends.</summary>
    private void CommitLoop()
    {
        List<WorkItem>? batch = null;
        try
        {
            while (_sealed.TryTake(out var next))
            {
                batch = next;
                Process(batch);
                ReturnBuffers(batch);
                batch = null;
            }

            if (Count != _lastHeadSize)
            {
                WriteHead();
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "The audit committer for {Path} stopped", Path);
            FailAll(batch ?? [], ex);
            while (_sealed.TryTake(out var rest))
            {
                foreach (var item in rest)
                {
                    item.Fail(Unavailable("the audit writer stopped", ex));
                }
            }
        }
    }

    /// <summary>After <see cref="Process"/> nothing seals or reads these appends again (a failed batch is never retried):
    /// their prepared records go back to the pool. Appends dropped on a failure path just leave theirs to the GC.</summary>
    private static void ReturnBuffers(List<WorkItem> batch)
    {
        foreach (var item in batch)
        {
            if (item is AppendWork append)
            {
                append.ReturnPrepared();
            }
        }
    }

    private void FailAll(List<WorkItem> batch, Exception ex)
    {
        lock (_queueLock)
        {
            _closing = true;
            batch.AddRange(_queue);
            _queue.Clear();
            Monitor.PulseAll(_queueLock);   // callers blocked on a full queue see the log closed
        }

        foreach (var item in batch)
        {
            item.Fail(Unavailable("the audit writer stopped", ex));
        }
    }

    /// <summary>Group commit: when other appends are already queued, or the one queued is not awaited, give the burst a
    /// moment to fill the batch.</summary>
    private void WaitForCompany()
    {
        if (_queue.Count >= _options.MaxBatchSize || _options.MaxCommitDelay <= TimeSpan.Zero || _closing)
        {
            return;
        }

        // A lone entry that a caller awaits is committed at once. One nobody awaits (a record of an action that did not
        // wait for durability, e.g. each request through the gateway) waits for company too: one seal, commit and fsync
        // per window instead of two thread wake-ups and an fsync per request.
        if (_queue.Count < 2 && _queue[0] is not AppendWork { Done: null })
        {
            return;
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(_options.MaxCommitDelay.TotalSeconds * Stopwatch.Frequency);
        while (_queue.Count < _options.MaxBatchSize && !_closing)
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            // Monitor.Wait truncates to whole milliseconds: rounding down would turn the last millisecond of every window
            // into a loop of Wait(0) that spins the sealer thread, so round up (a window may end up to 1 ms late).
            Monitor.Wait(_queueLock, (int)Math.Ceiling(remaining.TotalMilliseconds));
        }
    }

    private static List<AppendWork> Appends(List<WorkItem> batch)
    {
        var appends = new List<AppendWork>(batch.Count);
        foreach (var item in batch)
        {
            if (item is AppendWork { Failed: false } append)
            {
                appends.Add(append);
            }
        }

        return appends;
    }

    /// <summary>Numbers and signs appends from <paramref name="first"/> on, on all cores. A record that cannot be signed
    /// (its key was disposed) is failed and the rest are renumbered, so indexes stay gapless.</summary>
    private static List<AppendWork> SealBatch(List<AppendWork> appends, long first, DateTimeOffset now)
    {
        var live = appends;
        var tail = AuditEntryCodec.Tail(now);
        while (live.Count > 0)
        {
            var items = live;
            if (items.Count >= 4)
            {
                Parallel.For(0, items.Count, i => items[i].Seal(first + i, tail));
            }
            else
            {
                for (var i = 0; i < items.Count; i++)
                {
                    items[i].Seal(first + i, tail);
                }
            }

            if (!items.Exists(item => item.Error is not null))
            {
                break;
            }

            foreach (var item in items)
            {
                if (item.Error is not null)
                {
                    item.Fail(item.Error);
                }
            }

            live = items.FindAll(item => item.Error is null);
        }

        return live;
    }

    private void Process(List<WorkItem> batch)
    {
        var appends = Appends(batch);
        if (appends.Count > 0)
        {
            if (appends[0].Index != Count)
            {
                // An earlier batch failed to commit after this one was sealed: number and sign it again.
                var sealedCount = appends.Count;
                appends = SealBatch(appends, Count, _time.GetUtcNow());
                lock (_sealLock)
                {
                    _sealedNext -= sealedCount - appends.Count;
                }
            }

            if (appends.Count > 0)
            {
                CommitAppends(appends);
            }
        }

        foreach (var item in batch)
        {
            if (item is HeadWork head)
            {
                try
                {
                    head.Done.TrySetResult(head.OnlyIfChanged && Count == _lastHeadSize ? _lastHead : WriteHead());
                }
                catch (Exception ex) when (ex is SqliteException or IOException or AuditLogException)
                {
                    head.Fail(Unavailable("the tree head could not be stored", ex));
                }
            }
        }
    }

    private void CommitAppends(List<AppendWork> live)
    {
        var first = Count;
        var now = _time.GetUtcNow();
        var frontier = _frontier.Clone();
        SignedTreeHead? head = null;
        try
        {
            _insertEntries.Clear();
            _insertNodes.Clear();
            foreach (var item in live)
            {
                _insertEntries.Add(frontier.Size, item.Body!);
                _insertNodes.Add(0, frontier.Size, item.Leaf!);
                frontier.Append(item.Leaf!, _insertNodes.Add);
            }

            using var tx = _writer.BeginTransaction();
            _insertHead.Transaction = tx;
            _insertEntries.Execute(tx);
            _insertNodes.Execute(tx);

            var every = _options.TreeHeadEvery;
            if (every > 0 && frontier.Size / every > first / every)
            {
                head = SignedTreeHead.Create(frontier.Size, frontier.Root(), now, _logKey);
                Insert(_insertHead, head.TreeSize, head.ToJson());
            }

            lock (_commitLock)
            {
                tx.Commit();
                CommittedBatches++;
                _frontier = frontier;
                Interlocked.Exchange(ref _count, frontier.Size);
            }
        }
        catch (Exception ex) when (ex is SqliteException or IOException or InvalidOperationException)
        {
            _logger.LogError(ex, "Committing {Count} audit entries to {Path} failed", live.Count, Path);
            foreach (var item in live)
            {
                item.Fail(Unavailable("the entries could not be committed", ex));
            }

            lock (_sealLock)
            {
                _sealedNext -= live.Count; // batches sealed after this one are renumbered when they reach Process
            }

            return;
        }

        if (head is not null)
        {
            RecordHeadInSideFile(head);
        }

        foreach (var item in live)
        {
            item.Succeed();
        }
    }

    private SignedTreeHead WriteHead()
    {
        var head = SignedTreeHead.Create(_frontier.Size, _frontier.Root(), _time.GetUtcNow(), _logKey);
        _insertHead.Transaction = null;
        Insert(_insertHead, head.TreeSize, head.ToJson());
        RecordHeadInSideFile(head);
        return head;
    }

    private void RecordHeadInSideFile(SignedTreeHead head)
    {
        _lastHeadSize = head.TreeSize;
        _lastHead = head;
        try
        {
            _headFile.Append(head);
        }
        catch (IOException ex)
        {
            // The head is in the database; the side file only adds protection against truncation.
            _logger.LogError(ex, "Writing the tree head of size {Size} to the side file of {Path} failed", head.TreeSize, Path);
        }
    }

    private static void Insert(SqliteCommand command, long key, object value)
    {
        command.Parameters[0].Value = key;
        command.Parameters[1].Value = value;
        command.ExecuteNonQuery();
    }

    private List<byte[]> ReadBodies(long fromIndex, long count)
    {
        var bodies = new List<byte[]>();
        if (count <= 0)
        {
            return bodies;
        }

        lock (_readerLock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            using var command = _reader.CreateCommand();
            command.CommandText = "SELECT body FROM entries WHERE idx >= $from ORDER BY idx LIMIT $count;";
            command.Parameters.AddWithValue("$from", fromIndex);
            command.Parameters.AddWithValue("$count", count);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                bodies.Add(reader.GetValue(0) as byte[]
                    ?? throw new AuditLogException(AuditLogException.Corrupt, $"A stored entry of '{Path}' is not a blob."));
            }
        }

        return bodies;
    }

    private T WithProofs<T>(Func<MerkleProofs, T> build)
    {
        // Pass 1 learns which complete subtrees the proof needs; one query fetches them all; pass 2 builds it.
        var needed = new HashSet<(int Level, long Index)>();
        var placeholder = new byte[MerkleHash.Size];
        build(new MerkleProofs((l, i) =>
        {
            needed.Add((l, i));
            return placeholder;
        }));

        var found = new Dictionary<(int, long), byte[]>(needed.Count);
        lock (_readerLock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            using var command = _reader.CreateCommand();
            var sql = new System.Text.StringBuilder("SELECT level, idx, hash FROM nodes WHERE (level, idx) IN (VALUES ");
            var n = 0;
            foreach (var (level, index) in needed)
            {
                sql.Append(n == 0 ? "" : ", ").Append("($l").Append(n).Append(", $i").Append(n).Append(')');
                command.Parameters.AddWithValue("$l" + n, level);
                command.Parameters.AddWithValue("$i" + n, index);
                n++;
            }

            if (n > 0)
            {
                command.CommandText = sql.Append(");").ToString();
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    if (reader.GetValue(2) is byte[] { Length: MerkleHash.Size } hash)
                    {
                        found[(reader.GetInt32(0), reader.GetInt64(1))] = hash;
                    }
                }
            }
        }

        return build(new MerkleProofs((l, i) => found.TryGetValue((l, i), out var hash)
            ? hash
            : throw new AuditLogException(AuditLogException.Corrupt, $"The stored subtree hash (level {l}, index {i}) of '{Path}' is missing or damaged.")));
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in new[] { "$a", "$b", "$c" })
        {
            if (sql.Contains(name, StringComparison.Ordinal))
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }
        }

        command.Prepare();
        return command;
    }

    private static byte[] ExportSecret(Ed25519KeyPair key)
    {
        var secret = key.ExportSecretKey();
        return secret;
    }

    private AuditLogException Unavailable(string what, Exception inner) =>
        new(AuditLogException.Unavailable, $"Audit log '{Path}': {what}: {inner.Message}", inner);

    private abstract class WorkItem
    {
        public abstract void Fail(Exception error);
    }

    private sealed class AppendWork(PreparedRecord prepared, Ed25519KeyPair key, bool tracked, AuditLog log) : WorkItem
    {
        private int _failed;
        private int _returned;

        /// <summary>Completes with the index once durable; null for an untracked append (nobody waits for it).</summary>
        public TaskCompletionSource<long>? Done { get; } = tracked ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;

        public long Index { get; private set; }

        public byte[]? Body { get; private set; }

        public byte[]? Leaf { get; private set; }

        public Exception? Error { get; private set; }

        /// <summary>Numbers, signs and hashes the entry; captures a failure instead of throwing (runs in parallel).</summary>
        public void Seal(long index, byte[] tail)
        {
            try
            {
                Index = index;
                var unsigned = AuditEntryCodec.EncodeUnsigned(prepared, index, tail, out var sigOffset);
                Span<byte> signature = stackalloc byte[Ed25519.SignatureSize];
                key.Sign(unsigned, signature);
                Body = AuditEntryCodec.Seal(unsigned, sigOffset, signature);
                Leaf = MerkleHash.Leaf(Body);
            }
            catch (Exception ex)
            {
                Error = ex;
            }
        }

        public bool Failed => Volatile.Read(ref _failed) != 0;

        /// <summary>Returns the prepared record's buffer to the pool, once (the committer calls it after the batch is done).</summary>
        public void ReturnPrepared()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                prepared.ReturnBuffer();
            }
        }

        public void Succeed() => Done?.TrySetResult(Index);

        public override void Fail(Exception error)
        {
            if (Interlocked.Exchange(ref _failed, 1) != 0)
            {
                return;
            }

            if (Done is not null)
            {
                Done.TrySetException(error);
            }
            else
            {
                log._logger.LogError(error, "An audit entry that nobody waited for ({Capability}, action {ActionId}) could not be stored in {Path}",
                    prepared.Record.Capability, prepared.Record.ActionId, log.Path);
            }
        }
    }

    private sealed class HeadWork(bool onlyIfChanged) : WorkItem
    {
        public bool OnlyIfChanged { get; } = onlyIfChanged;

        public TaskCompletionSource<SignedTreeHead?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception error) => Done.TrySetException(error);
    }
}
