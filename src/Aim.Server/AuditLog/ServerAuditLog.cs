using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;
using Aim.Identity;
using Aim.Json;
using Aim.Server.Storage;

namespace Aim.Server.AuditLog;

/// <summary>What the server's audit log reports after checking an organization's log.</summary>
internal sealed record ServerAuditVerification(bool IsValid, long EntriesChecked, string? ReasonCode, long? FailedIndex, string? Message);

/// <summary>
/// One RFC 9162 Merkle audit log per organization, stored in the database and sequenced there: an append
/// increments <c>audit_heads.size</c> for the organization and inserts the entry in the same transaction, so
/// appends from several server processes on one PostgreSQL form one gap-free log. Each entry is the RFC 8785
/// JSON <c>{"type":"aim-server-audit/1","org_id","index","time","source","agent_key","record","record_sig"}</c>;
/// agent-sourced entries carry the agent's Ed25519 signature over the canonical record, so the server cannot
/// forge what an agent reported. Tree heads are <see cref="SignedTreeHead"/>s in Aim.Core's format, signed by
/// the server's log key; proofs are verified with Aim.Core's verifiers.
/// </summary>
internal sealed class ServerAuditLog(Database db, Ed25519KeyPair logKey, TimeProvider time)
{
    public const string EntryType = "aim-server-audit/1";
    private const string TreeHeadType = "aim-audit-sth/1";
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    private readonly ConcurrentDictionary<string, OrgTree> _trees = new(StringComparer.Ordinal);

    public ReadOnlySpan<byte> LogPublicKey => logKey.PublicKey;

    /// <summary>Appends an entry the server itself records (no agent signature).</summary>
    public Task<long> AppendAsync(string orgId, string? agentId, string? agentKeyId, JsonObject record) =>
        AppendAsync(orgId, agentId, agentKeyId, record, null);

    /// <summary>Appends an entry; returns its index once it is committed.</summary>
    public Task<long> AppendAsync(string orgId, string? agentId, string? agentKeyId, JsonObject record, byte[]? recordSignature, CancellationToken ct = default) =>
        db.WriteAsync(async (c, tx) =>
        {
            var next = await c.ScalarAsync("UPDATE audit_heads SET size = size + 1 WHERE org_id = @o RETURNING size", tx, ("@o", orgId)).ConfigureAwait(false);
            if (next is null)
            {
                await c.ExecAsync("INSERT INTO audit_heads (org_id, size) VALUES (@o, 0) ON CONFLICT DO NOTHING", tx, ("@o", orgId)).ConfigureAwait(false);
                next = await c.ScalarAsync("UPDATE audit_heads SET size = size + 1 WHERE org_id = @o RETURNING size", tx, ("@o", orgId)).ConfigureAwait(false);
            }

            long index = Convert.ToInt64(next, CultureInfo.InvariantCulture) - 1;
            var now = Truncate(time.GetUtcNow());
            var entry = new JsonObject
            {
                ["type"] = EntryType,
                ["org_id"] = orgId,
                ["index"] = index,
                ["time"] = now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture),
                ["source"] = recordSignature is null ? "server" : "agent",
                ["record"] = record.DeepClone(),
            };
            if (agentKeyId is not null)
            {
                entry["agent_key"] = agentKeyId;
            }

            if (recordSignature is not null)
            {
                entry["record_sig"] = Base64Url.EncodeToString(recordSignature);
            }

            var body = CanonicalJson.Serialize(entry);
            var leaf = MerkleTree.LeafHash(body);
            await c.ExecAsync("INSERT INTO audit_entries (org_id, idx, time, agent_id, kind, capability, decision, action_id, body, leaf) VALUES (@o, @i, @t, @a, @k, @c, @d, @ac, @b, @l)", tx,
                ("@o", orgId), ("@i", index), ("@t", now.ToUnixTimeMilliseconds()), ("@a", agentId), ("@k", Str(record, "kind") ?? "event"),
                ("@c", Str(record, "capability")), ("@d", Str(record, "decision")), ("@ac", Str(record, "action_id")), ("@b", body), ("@l", leaf)).ConfigureAwait(false);
            return index;
        }, ct);

    /// <summary>Signs a tree head over every entry committed so far (the longest gap-free prefix).</summary>
    public async Task<SignedTreeHead> TreeHeadAsync(string orgId, CancellationToken ct = default)
    {
        var tree = await SyncAsync(orgId, ct).ConfigureAwait(false);
        lock (tree)
        {
            long size = tree.Tree.Size;
            return SignHead(size, tree.Tree.Root(size), time.GetUtcNow());
        }
    }

    /// <exception cref="ApiException">The index or size is out of range.</exception>
    public async Task<InclusionProof> InclusionProofAsync(string orgId, long index, long treeSize, CancellationToken ct = default)
    {
        var tree = await SyncAsync(orgId, ct).ConfigureAwait(false);
        lock (tree)
        {
            if (treeSize < 1 || treeSize > tree.Tree.Size || index < 0 || index >= treeSize)
            {
                throw ApiException.BadRequest("proof_out_of_range", $"Need 0 <= index < tree_size <= {tree.Tree.Size}.");
            }

            return new InclusionProof(index, treeSize, tree.Tree.InclusionPath(index, treeSize));
        }
    }

    /// <exception cref="ApiException">The sizes are out of range.</exception>
    public async Task<ConsistencyProof> ConsistencyProofAsync(string orgId, long oldSize, long newSize, CancellationToken ct = default)
    {
        var tree = await SyncAsync(orgId, ct).ConfigureAwait(false);
        lock (tree)
        {
            if (oldSize < 0 || newSize < oldSize || newSize > tree.Tree.Size)
            {
                throw ApiException.BadRequest("proof_out_of_range", $"Need 0 <= old_size <= new_size <= {tree.Tree.Size}.");
            }

            return new ConsistencyProof(oldSize, newSize, tree.Tree.ConsistencyPath(oldSize, newSize));
        }
    }

    public Task<List<AuditEntryRow>> QueryAsync(string orgId, long from, int limit, string? agentId, string? capability, string? kind, string? decision, CancellationToken ct = default) =>
        db.ReadAsync(c => c.QueryAsync(
            "SELECT org_id, idx, time, agent_id, kind, capability, decision, action_id, body, leaf FROM audit_entries WHERE org_id = @o AND idx >= @f " +
            "AND (@a IS NULL OR agent_id = @a) AND (@c IS NULL OR capability = @c) AND (@k IS NULL OR kind = @k) AND (@d IS NULL OR decision = @d) ORDER BY idx LIMIT @l", null,
            MapEntry, ("@o", orgId), ("@f", from), ("@a", agentId), ("@c", capability), ("@k", kind), ("@d", decision), ("@l", (long)limit)), ct);

    /// <summary>Recomputes every leaf from the stored bytes, checks indexes and agent signatures, and compares the root with the tree the server serves.</summary>
    public async Task<ServerAuditVerification> VerifyAsync(string orgId, CancellationToken ct = default)
    {
        var rebuilt = new MerkleTree();
        const int Page = 2000;
        long from = 0;
        while (true)
        {
            var rows = await QueryAsync(orgId, from, Page, null, null, null, null, ct).ConfigureAwait(false);
            foreach (var row in rows)
            {
                if (row.Index != rebuilt.Size)
                {
                    return new(false, rebuilt.Size, "entry_missing", rebuilt.Size, $"Entry {rebuilt.Size} is missing.");
                }

                var leaf = MerkleTree.LeafHash(row.Body);
                if (!leaf.AsSpan().SequenceEqual(row.Leaf) || CheckEntry(orgId, row) is { } problem)
                {
                    return new(false, rebuilt.Size, "entry_tampered", row.Index, $"Entry {row.Index} does not match its hash or signature.");
                }

                rebuilt.Append(leaf);
            }

            if (rows.Count < Page)
            {
                break;
            }

            from = rebuilt.Size;
        }

        var tree = await SyncAsync(orgId, ct).ConfigureAwait(false);
        lock (tree)
        {
            if (tree.Tree.Size > rebuilt.Size || !tree.Tree.Root(tree.Tree.Size).AsSpan().SequenceEqual(rebuilt.Root(tree.Tree.Size)))
            {
                return new(false, rebuilt.Size, "root_mismatch", null, "The stored entries do not produce the served tree.");
            }
        }

        return new(true, rebuilt.Size, null, null, null);
    }

    /// <summary>Null when the entry's body is well formed, at its index, and (for agent entries) signed by the agent key it names.</summary>
    internal static string? CheckEntry(string orgId, AuditEntryRow row)
    {
        try
        {
            if (JsonNode.Parse(row.Body) is not JsonObject entry
                || (string?)entry["type"] != EntryType || (string?)entry["org_id"] != orgId || (long?)entry["index"] != row.Index
                || entry["record"] is not JsonObject record)
            {
                return "malformed";
            }

            if ((string?)entry["source"] == "agent")
            {
                if (!AgentIdentity.TryPublicKeyFromAipId((string?)entry["agent_key"], out var publicKey)
                    || !Base64Url.IsValid((string?)entry["record_sig"] ?? string.Empty))
                {
                    return "malformed";
                }

                var sig = Base64Url.DecodeFromChars((string)entry["record_sig"]!);
                if (!Ed25519.Verify(publicKey, CanonicalJson.Serialize(record), sig))
                {
                    return "bad_signature";
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return "malformed";
        }
    }

    private async Task<OrgTree> SyncAsync(string orgId, CancellationToken ct)
    {
        var tree = _trees.GetOrAdd(orgId, static _ => new OrgTree());
        long have;
        lock (tree)
        {
            have = tree.Tree.Size;
        }

        var rows = await db.ReadAsync(c => c.QueryAsync("SELECT idx, leaf FROM audit_entries WHERE org_id = @o AND idx >= @f ORDER BY idx", null,
            r => (Index: r.GetInt64(0), Leaf: r.Bytes(1)), ("@o", orgId), ("@f", have)), ct).ConfigureAwait(false);
        lock (tree)
        {
            foreach (var (index, leaf) in rows)
            {
                // Stop at the first gap: a later index may commit before an earlier one on another replica.
                if (index == tree.Tree.Size)
                {
                    tree.Tree.Append(leaf);
                }
                else if (index > tree.Tree.Size)
                {
                    break;
                }
            }
        }

        return tree;
    }

    private SignedTreeHead SignHead(long size, byte[] root, DateTimeOffset when)
    {
        when = Truncate(when);
        var head = new JsonObject
        {
            ["log_key"] = Base64Url.EncodeToString(logKey.PublicKey),
            ["root"] = Base64Url.EncodeToString(root),
            ["timestamp"] = when.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture),
            ["tree_size"] = size,
            ["type"] = TreeHeadType,
        };
        var signature = logKey.Sign(CanonicalJson.Serialize(head));
        return new SignedTreeHead(size, root, when, logKey.PublicKey.ToArray(), signature);
    }

    private static DateTimeOffset Truncate(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static AuditEntryRow MapEntry(System.Data.Common.DbDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.NullableString(3), r.GetString(4), r.NullableString(5), r.NullableString(6), r.NullableString(7), r.Bytes(8), r.Bytes(9));

    private sealed class OrgTree
    {
        public MerkleTree Tree { get; } = new();
    }
}
