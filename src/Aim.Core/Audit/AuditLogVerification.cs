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

    public static AuditVerificationResult Run(SqliteConnection connection, string logPath, SignedTreeHead? trustedHead, LiveState? live, CancellationToken ct)
    {
        byte[]? logKey;
        List<(long Index, byte[] Body)> rows;
        Dictionary<long, byte[]> storedLeaves;
        List<(long Id, string Json)> dbHeads;
        try
        {
            logKey = AuditStore.ReadLogKey(connection, out var problem);
            if (logKey is null)
            {
                return Fail(0, null, AuditReasonCodes.LogUnreadable, $"'{logPath}' is not an Aim audit log: {problem}.", null);
            }

            rows = ReadEntries(connection, ct);
            storedLeaves = ReadLeaves(connection, ct);
            dbHeads = AuditStore.Heads(connection);
        }
        catch (SqliteException ex)
        {
            return Fail(0, null, AuditReasonCodes.LogUnreadable, $"'{logPath}' cannot be read as an audit log: {ex.Message}", null);
        }

        var n = rows.Count;
        var inspections = new EntryInspection[n];
        var wellFormed = new bool[n];
        var signatureValid = new bool[n];
        var leaves = new byte[n][];
        Parallel.For(0, n, new ParallelOptions { CancellationToken = ct }, i =>
        {
            var body = rows[i].Body;
            leaves[i] = MerkleHash.Leaf(body);
            if (AuditEntryCodec.TryInspect(body, out var inspection))
            {
                inspections[i] = inspection;
                wellFormed[i] = true;
                signatureValid[i] = Ed25519.Verify(inspection.AgentKey, AuditEntryCodec.SignedBytes(body, inspection), inspection.Signature);
            }
        });

        var entryFailure = CheckSequence(rows, inspections, wellFormed, signatureValid, leaves, storedLeaves);
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
        foreach (var line in TreeHeadFile.ReadLines(logPath))
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
                frontier.Append(leaves[frontier.Size]);
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

    private static (long Index, string Code, string Message)? CheckSequence(
        List<(long Index, byte[] Body)> rows, EntryInspection[] inspections, bool[] wellFormed, bool[] signatureValid,
        byte[][] leaves, Dictionary<long, byte[]> storedLeaves)
    {
        var n = rows.Count;
        var positionsByIndex = new Dictionary<long, List<int>>();
        for (var q = 0; q < n; q++)
        {
            if (wellFormed[q])
            {
                if (!positionsByIndex.TryGetValue(inspections[q].Index, out var list))
                {
                    positionsByIndex[inspections[q].Index] = list = new List<int>(1);
                }

                list.Add(q);
            }
        }

        for (var p = 0; p < n; p++)
        {
            if (!wellFormed[p])
            {
                return (p, AuditReasonCodes.EntryModified, $"Entry {p} is not a well-formed signed audit entry.");
            }

            var storedLeaf = storedLeaves.GetValueOrDefault(rows[p].Index);
            var matchesCommittedLeaf = storedLeaf is not null && CryptographicOperations.FixedTimeEquals(storedLeaf, leaves[p]);
            if (!signatureValid[p])
            {
                return matchesCommittedLeaf
                    ? (p, AuditReasonCodes.EntrySignatureInvalid, $"The signature of entry {p} does not verify under its agent key.")
                    : (p, AuditReasonCodes.EntryModified, $"Entry {p} was modified after it was signed.");
            }

            var claimed = inspections[p].Index;
            if (claimed > p)
            {
                var appearsLater = positionsByIndex.TryGetValue(p, out var later) && later.Exists(q => q > p);
                return appearsLater
                    ? (p, AuditReasonCodes.EntryReordered, $"Position {p} holds entry {claimed}; entry {p} appears later in the log.")
                    : (p, AuditReasonCodes.EntryDeleted, $"Entry {p} is missing (the next entry found is {claimed}).");
            }

            if (claimed < p)
            {
                // The earlier holder of this index passed every check (or we would have stopped there), so this one is extra.
                return (p, AuditReasonCodes.EntryInserted, $"Position {p} holds a second entry claiming index {claimed}: an entry was inserted at {p}.");
            }

            if (rows[p].Index != p)
            {
                return (p, AuditReasonCodes.EntryModified, $"Entry {p} is stored under row {rows[p].Index}: the rows were renumbered.");
            }

            if (!matchesCommittedLeaf && positionsByIndex[p].Exists(q => q > p))
            {
                return (p, AuditReasonCodes.EntryInserted, $"Position {p} holds an entry the log never committed, and the committed entry {p} follows it: an entry was inserted at {p}.");
            }

            if (!matchesCommittedLeaf)
            {
                return (p, AuditReasonCodes.EntryModified, $"Entry {p} does not match the leaf hash the log committed for it.");
            }
        }

        return null;
    }

    private static List<(long, byte[])> ReadEntries(SqliteConnection connection, CancellationToken ct)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT idx, body FROM entries ORDER BY idx;";
        using var reader = command.ExecuteReader();
        var rows = new List<(long, byte[])>();
        while (reader.Read())
        {
            ct.ThrowIfCancellationRequested();
            rows.Add((reader.GetInt64(0), AsBytes(reader.GetValue(1))));
        }

        return rows;
    }

    private static Dictionary<long, byte[]> ReadLeaves(SqliteConnection connection, CancellationToken ct)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT idx, hash FROM nodes WHERE level = 0;";
        using var reader = command.ExecuteReader();
        var leaves = new Dictionary<long, byte[]>();
        while (reader.Read())
        {
            ct.ThrowIfCancellationRequested();
            leaves[reader.GetInt64(0)] = AsBytes(reader.GetValue(1));
        }

        return leaves;
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
