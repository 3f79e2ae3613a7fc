using System.Security.Cryptography;
using Aim.Crypto;
using Microsoft.Data.Sqlite;

namespace Aim.Audit;

/// <summary>
/// Full verification of an audit log database: every entry's signature (in parallel), the index sequence
/// (which pinpoints deletions, reorderings and insertions), the stored leaf hashes, and the recomputed Merkle
/// roots against every signed tree head found (database, side file, caller's trusted head, open log's state).
/// </summary>
internal static class AuditLogVerification
{
    /// <summary>What an open <see cref="AuditLog"/> knows it committed; stronger than any stored head.</summary>
    internal readonly record struct LiveState(long Count, byte[] Root);

    /// <param name="connection">A connection inside a read transaction, so entries and stored heads are one snapshot.</param>
    /// <param name="logPath">The log file (for messages and the side file's name).</param>
    /// <param name="sideFileLines">The side file, read before the snapshot was taken: every head in it is then
    /// covered by entries in the snapshot, even while a writer keeps appending.</param>
    /// <param name="trustedHead">The caller's trusted head, if any.</param>
    /// <param name="live">What an open log knows it committed at the snapshot.</param>
    /// <param name="ct">Cancels the run.</param>
    /// <param name="trustedSigners">Hex-encoded agent keys allowed to sign entries (from <see cref="SignerSet"/>), or null for any.</param>
    public static AuditVerificationResult Run(SqliteConnection connection, string logPath, IReadOnlyList<string> sideFileLines, SignedTreeHead? trustedHead, LiveState? live, CancellationToken ct, HashSet<string>? trustedSigners = null)
    {
        byte[]? logKey;
        List<CheckedRow> rows;
        List<(long Id, string Json)> dbHeads;
        try
        {
            logKey = AuditStore.ReadLogKey(connection, out var problem);
            if (logKey is null)
            {
                return Fail(0, null, AuditReasonCodes.LogUnreadable, $"'{logPath}' is not an Aim audit log: {problem}.", null);
            }

            rows = ReadAndCheckEntries(connection, ct);
            dbHeads = AuditStore.Heads(connection);
        }
        catch (SqliteException ex)
        {
            return Fail(0, null, AuditReasonCodes.LogUnreadable, $"'{logPath}' cannot be read as an audit log: {ex.Message}", null);
        }

        var n = rows.Count;
        var entryFailure = CheckSequence(rows, trustedSigners);
        if (entryFailure is { } failure)
        {
            return Fail(n, failure.Index, failure.Code, failure.Message, null);
        }

        // Gather every head we can find. Each must be well formed and signed by this log's key.
        var heads = new List<(string Source, SignedTreeHead Head)>();
        foreach (var (id, json) in dbHeads)
        {
            if (!TryParseHead(json, out var head))
            {
                return Fail(n, null, AuditReasonCodes.TreeHeadInvalid, $"Stored tree head #{id} is malformed.", null);
            }

            heads.Add(($"stored tree head #{id}", head));
        }

        var lineNumber = 0;
        foreach (var line in sideFileLines)
        {
            lineNumber++;
            if (!TryParseHead(line, out var head))
            {
                return Fail(n, null, AuditReasonCodes.TreeHeadInvalid, $"Line {lineNumber} of the side file '{TreeHeadFile.PathFor(logPath)}' is not a tree head.", null);
            }

            heads.Add(($"side-file tree head (line {lineNumber})", head));
        }

        if (trustedHead is not null)
        {
            heads.Add(("trusted tree head", trustedHead));
        }

        SignedTreeHead? latest = null;
        foreach (var (source, head) in heads)
        {
            if (!head.VerifySignature() || !head.LogPublicKey.AsSpan().SequenceEqual(logKey))
            {
                return Fail(n, null, AuditReasonCodes.TreeHeadInvalid, $"The {source} (size {head.TreeSize}) is not validly signed by this log's key.", null);
            }

            if (latest is null || head.TreeSize > latest.TreeSize)
            {
                latest = head;
            }
        }

        foreach (var (source, head) in heads)
        {
            if (head.TreeSize > n)
            {
                return Fail(n, n, AuditReasonCodes.Truncated, $"The log holds {n} entries but the {source} covers {head.TreeSize}: entries from {n} on were removed.", latest);
            }
        }

        if (live is { } state && state.Count > n)
        {
            return Fail(n, n, AuditReasonCodes.Truncated, $"The open log committed {state.Count} entries but the file holds {n}.", latest);
        }

        if (live is { } grown && grown.Count < n)
        {
            return Fail(n, grown.Count, AuditReasonCodes.EntryInserted, $"The file holds {n} entries but the open log committed only {grown.Count}.", latest);
        }

        // Recompute the root at every head's size in one pass over the leaves.
        var checks = heads.Select(h => (h.Source, h.Head.TreeSize, Root: h.Head.RootHash)).ToList();
        if (live is { } open)
        {
            checks.Add(("open log", open.Count, open.Root));
        }

        checks.Sort((a, b) => a.TreeSize.CompareTo(b.TreeSize));
        var frontier = new MerkleFrontier();
        long lastGood = 0;
        foreach (var (source, size, expectedRoot) in checks)
        {
            while (frontier.Size < size)
            {
                frontier.Append(rows[(int)frontier.Size].Leaf);
            }

            if (!CryptographicOperations.FixedTimeEquals(frontier.Root(), expectedRoot))
            {
                return Fail(n, lastGood, AuditReasonCodes.RootMismatch,
                    $"The first {size} entries do not hash to the root of the {source}; the altered entry is at index {lastGood} or later.", latest);
            }

            lastGood = size;
        }

        return new AuditVerificationResult(true, n, null, null, null, latest);
    }

    /// <summary>One stored entry and what checking it found.</summary>
    private sealed class CheckedRow(long rowIndex, byte[] body, byte[]? storedLeaf)
    {
        public long RowIndex { get; } = rowIndex;

        public byte[] Body { get; } = body;

        public byte[]? StoredLeaf { get; } = storedLeaf;

        public byte[] Leaf { get; private set; } = [];

        public EntryInspection Inspection { get; private set; }

        public bool WellFormed { get; private set; }

        public bool SignatureValid { get; private set; }

        public void Check()
        {
            Leaf = MerkleHash.Leaf(Body);
            if (AuditEntryCodec.TryInspect(Body, out var inspection))
            {
                Inspection = inspection;
                WellFormed = true;
                // The signed bytes (the body without its sig member) on the stack: 100,000 entries would otherwise
                // allocate ~50 MB that the collector reclaims while both cores verify signatures.
                int length = Body.Length - (inspection.SigEnd - inspection.SigStart);
                Span<byte> message = length <= 4096 ? stackalloc byte[length] : new byte[length];
                Body.AsSpan(0, inspection.SigStart).CopyTo(message);
                Body.AsSpan(inspection.SigEnd).CopyTo(message[inspection.SigStart..]);
                SignatureValid = Ed25519.Verify(inspection.AgentKey, message, inspection.Signature);
            }
        }
    }

    /// <summary>Reads the entries with their stored leaf hashes and checks them while reading continues: chunks are
    /// hashed and signature-checked on the thread pool (all cores) as soon as they are read.</summary>
    private static List<CheckedRow> ReadAndCheckEntries(SqliteConnection connection, CancellationToken ct)
    {
        const int chunkSize = 2048;
        var chunks = new List<CheckedRow[]>();
        var work = new List<Task>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT e.idx, e.body, n.hash FROM entries e
                LEFT JOIN nodes n ON n.level = 0 AND n.idx = e.idx
                ORDER BY e.idx;
                """;
            using var reader = command.ExecuteReader();
            var chunk = new List<CheckedRow>(chunkSize);
            while (reader.Read())
            {
                ct.ThrowIfCancellationRequested();
                chunk.Add(new CheckedRow(reader.GetInt64(0), AsBytes(reader.GetValue(1)), reader.IsDBNull(2) ? null : AsBytes(reader.GetValue(2))));
                if (chunk.Count == chunkSize)
                {
                    Dispatch(chunk.ToArray());
                    chunk.Clear();
                }
            }

            Dispatch(chunk.ToArray());
        }

        try
        {
            Task.WaitAll(work, ct);
        }
        catch (AggregateException ex) when (ex.InnerException is OperationCanceledException oce)
        {
            throw oce;
        }

        var rows = new List<CheckedRow>(chunks.Sum(c => c.Length));
        foreach (var c in chunks)
        {
            rows.AddRange(c);
        }

        return rows;

        void Dispatch(CheckedRow[] rows)
        {
            chunks.Add(rows);
            work.Add(Task.Run(
                () =>
                {
                    foreach (var row in rows)
                    {
                        ct.ThrowIfCancellationRequested();
                        row.Check();
                    }
                },
                ct));
        }
    }

    /// <summary>Normalizes the caller's trusted signer keys into a set of lower-case hex strings.</summary>
    /// <exception cref="ArgumentException">A key is not 32 bytes.</exception>
    internal static HashSet<string>? SignerSet(IEnumerable<byte[]>? keys)
    {
        if (keys is null)
        {
            return null;
        }

        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (key is null || key.Length != Ed25519.PublicKeySize)
            {
                throw new ArgumentException($"A trusted signer is a {Ed25519.PublicKeySize}-byte Ed25519 public key.", nameof(keys));
            }

            set.Add(Convert.ToHexStringLower(key));
        }

        return set;
    }

    private static (long Index, string Code, string Message)? CheckSequence(List<CheckedRow> rows, HashSet<string>? trustedSigners)
    {
        var n = rows.Count;
        // Where each claimed index appears: only needed to name what went wrong, so built on first use (an intact log,
        // the common case, never builds it).
        Dictionary<long, List<int>>? positions = null;
        Dictionary<long, List<int>> PositionsByIndex()
        {
            if (positions is null)
            {
                positions = new Dictionary<long, List<int>>();
                for (var q = 0; q < n; q++)
                {
                    if (rows[q].WellFormed)
                    {
                        var claimedIndex = rows[q].Inspection.Index;
                        if (!positions.TryGetValue(claimedIndex, out var list))
                        {
                            positions[claimedIndex] = list = new List<int>(1);
                        }

                        list.Add(q);
                    }
                }
            }

            return positions;
        }

        for (var p = 0; p < n; p++)
        {
            var row = rows[p];
            if (!row.WellFormed)
            {
                return (p, AuditReasonCodes.EntryModified, $"Entry {p} is not a well-formed signed audit entry.");
            }

            var matchesCommittedLeaf = row.StoredLeaf is not null && CryptographicOperations.FixedTimeEquals(row.StoredLeaf, row.Leaf);
            if (!row.SignatureValid)
            {
                return matchesCommittedLeaf
                    ? (p, AuditReasonCodes.EntrySignatureInvalid, $"The signature of entry {p} does not verify under its agent key.")
                    : (p, AuditReasonCodes.EntryModified, $"Entry {p} was modified after it was signed.");
            }

            if (trustedSigners is not null && !trustedSigners.Contains(Convert.ToHexStringLower(row.Inspection.AgentKey)))
            {
                return (p, AuditReasonCodes.SignerUntrusted,
                    $"Entry {p} is validly signed, but by {Aim.Identity.AgentIdentity.AipIdOf(row.Inspection.AgentKey)}, which is not a trusted signer of this log.");
            }

            var claimed = row.Inspection.Index;
            if (claimed > p)
            {
                var appearsLater = PositionsByIndex().TryGetValue(p, out var later) && later.Exists(q => q > p);
                return appearsLater
                    ? (p, AuditReasonCodes.EntryReordered, $"Position {p} holds entry {claimed}; entry {p} appears later in the log.")
                    : (p, AuditReasonCodes.EntryDeleted, $"Entry {p} is missing (the next entry found is {claimed}).");
            }

            if (claimed < p)
            {
                // The earlier holder of this index passed every check (or we would have stopped there), so this one is extra.
                return (p, AuditReasonCodes.EntryInserted, $"Position {p} holds a second entry claiming index {claimed}: an entry was inserted at {p}.");
            }

            if (!matchesCommittedLeaf && PositionsByIndex()[p].Exists(q => q > p))
            {
                return (p, AuditReasonCodes.EntryInserted, $"Position {p} holds an entry the log never committed, and the committed entry {p} follows it: an entry was inserted at {p}.");
            }

            if (row.RowIndex != p)
            {
                return (p, AuditReasonCodes.EntryModified, $"Entry {p} is stored under row {row.RowIndex}: the rows were renumbered.");
            }

            if (!matchesCommittedLeaf)
            {
                return (p, AuditReasonCodes.EntryModified, $"Entry {p} does not match the leaf hash the log committed for it.");
            }
        }

        return null;
    }

    /// <summary>A hand-edited row may hold TEXT or a number where a BLOB belongs; hash whatever is there.</summary>
    private static byte[] AsBytes(object value) => value switch
    {
        byte[] bytes => bytes,
        string text => System.Text.Encoding.UTF8.GetBytes(text),
        DBNull => [],
        _ => System.Text.Encoding.UTF8.GetBytes(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty),
    };

    private static bool TryParseHead(string json, out SignedTreeHead head)
    {
        try
        {
            head = SignedTreeHead.FromJson(json);
            return true;
        }
        catch (AuditLogException)
        {
            head = null!;
            return false;
        }
    }

    private static AuditVerificationResult Fail(long checkedCount, long? index, string code, string message, SignedTreeHead? latest) =>
        new(false, checkedCount, index, code, message, latest);
}
