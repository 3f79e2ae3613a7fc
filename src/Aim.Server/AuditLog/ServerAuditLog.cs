using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;
using Aim.Identity;
using Aim.Json;
using Aim.Server.Storage;

namespace Aim.Server.AuditLog;

/// <summary>What the server's audit log reports after checking an organization's log.</summary>
internal sealed record ServerAuditVerification(bool IsValid, long EntriesChecked, string? ReasonCode, long? FailedIndex, string? Message);

/// <summary>An audit entry the server writes together with the change it records.</summary>
/// <param name="AgentId">The agent the entry is about (filters and reports), if any.</param>
/// <param name="Record">The record (see <see cref="ServerEvents"/>).</param>
internal sealed record AuditEvent(string? AgentId, JsonObject Record);

/// <summary>
/// One RFC 9162 Merkle audit log per organization, stored in the database and sequenced there, on Aim.Core's tree
/// (<see cref="MerkleHash"/>, <see cref="MerkleFrontier"/>, <see cref="MerkleProofs"/>). An append, in one transaction:
/// increments <c>audit_heads.size</c> (which locks the organization's head row, so appends from several server
/// processes form one gap-free log), checks the stored signed head it extends (signature under the log key, frontier
/// matching the signed root, never behind a head this process already trusted), inserts the entry and the subtree
/// hashes it completes (<c>audit_nodes</c>, for proofs), and stores a new head signed by the log key. So every committed
/// entry is covered by a persisted signed head, and a new head is only ever computed from the previous signed one,
/// never from rows an attacker could rewrite.
/// <para>
/// Entries are the RFC 8785 JSON <c>{"type":"aim-server-audit/1","org_id","index","time","source","agent_id","agent_key","record","record_sig"}</c>;
/// agent entries carry the agent's Ed25519 signature over the canonical record, checked on verification against the
/// keys registered to that agent (with their rotation history), not against the key the entry names.
/// </para>
/// <para>
/// Signed heads also go to <c>&lt;data&gt;/audit-heads.jsonl</c> (mode 0600) when they are handed out, at start and at
/// shutdown. At start each organization's stored head is checked (signature, frontier, entry count) and must extend the
/// last head in that file: a database rolled back or truncated behind it is reported and its log refuses appends.
/// </para>
/// </summary>
internal sealed class ServerAuditLog
{
    public const string EntryType = "aim-server-audit/1";
    public const string InconsistentCode = "audit_log_inconsistent";
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    // A key rotated out at T still signs requests admitted just before T; their entries are stored a moment later.
    private static readonly long RotationGraceMs = (long)TimeSpan.FromMinutes(1).TotalMilliseconds;

    private readonly Database _db;
    private readonly Ed25519KeyPair _logKey;
    private readonly TimeProvider _time;
    private readonly TreeHeadLedger? _ledger;
    private readonly ILogger? _logger;

    // Committed heads this process knows are genuine (it signed them, or checked their signature): a stored head may
    // never fall behind one of these.
    private readonly ConcurrentDictionary<string, HeadState> _trusted = new(StringComparer.Ordinal);

    // The last head this process signed per organization (committed or not): its frontier is known without a check.
    private readonly ConcurrentDictionary<string, HeadState> _produced = new(StringComparer.Ordinal);

    // Organizations whose log failed a consistency check: they refuse appends and heads until an operator intervenes.
    private readonly ConcurrentDictionary<string, ServerAuditVerification> _broken = new(StringComparer.Ordinal);

    public ServerAuditLog(Database db, Ed25519KeyPair logKey, TimeProvider time, string? ledgerPath = null, ILogger? logger = null)
    {
        _db = db;
        _logKey = logKey;
        _time = time;
        _ledger = ledgerPath is null ? null : new TreeHeadLedger(ledgerPath, logKey.PublicKey.ToArray());
        _logger = logger;
    }

    public ReadOnlySpan<byte> LogPublicKey => _logKey.PublicKey;

    /// <summary>A head: its size, root and (when known) the frontier that produced the root.</summary>
    private sealed record HeadState(long Size, byte[] Root, MerkleFrontier? Frontier, SignedTreeHead? Head);

    /// <summary>The head row as stored (the new size when read by an append's increment).</summary>
    private sealed record StoredHead(long Size, byte[]? Root, byte[]? Frontier, long? Time, byte[]? Signature);

    /// <summary>A consistency check failed (the organization's log is then refused further appends and heads).</summary>
    private sealed class InconsistentLogException(ServerAuditVerification result) : Exception(result.Message)
    {
        public ServerAuditVerification Result { get; } = result;
    }

    // ---- appends ----

    /// <summary>Appends an entry the server itself records (no agent signature).</summary>
    public Task<long> AppendAsync(string orgId, string? agentId, string? agentKeyId, JsonObject record) =>
        AppendAsync(orgId, agentId, agentKeyId, record, null);

    /// <summary>Appends an entry; returns its index once it is committed.</summary>
    /// <exception cref="ApiException">503 <c>audit_log_inconsistent</c>: the organization's log failed a consistency check.</exception>
    public async Task<long> AppendAsync(string orgId, string? agentId, string? agentKeyId, JsonObject record, byte[]? recordSignature, CancellationToken ct = default)
    {
        var (index, state) = await Guard(orgId, () => _db.WriteAsync((c, tx) => AppendInAsync(c, tx, orgId, agentId, agentKeyId, record, recordSignature), ct)).ConfigureAwait(false);
        Committed(orgId, state);
        return index;
    }

    /// <summary>
    /// Runs <paramref name="change"/> and appends the event it returns in the same transaction: the change commits only
    /// with its audit entry, and a change that does nothing (a null event) appends nothing.
    /// </summary>
    /// <exception cref="ApiException">What <paramref name="change"/> throws, or 503 <c>audit_log_inconsistent</c>.</exception>
    public async Task<T> ChangeAsync<T>(string orgId, Func<DbConnection, DbTransaction, Task<(T Result, AuditEvent? Event)>> change)
    {
        var (result, state) = await Guard(orgId, () => _db.WriteAsync(async (c, tx) =>
        {
            var (value, audit) = await change(c, tx).ConfigureAwait(false);
            HeadState? appended = null;
            if (audit is not null)
            {
                (_, appended) = await AppendInAsync(c, tx, orgId, audit.AgentId, null, audit.Record, null).ConfigureAwait(false);
            }

            return (value, appended);
        })).ConfigureAwait(false);
        if (state is not null)
        {
            Committed(orgId, state);
        }

        return result;
    }

    private async Task<(long Index, HeadState State)> AppendInAsync(DbConnection c, DbTransaction tx, string orgId, string? agentId, string? agentKeyId, JsonObject record, byte[]? recordSignature)
    {
        const string Increment = "UPDATE audit_heads SET size = size + 1 WHERE org_id = @o RETURNING size, root, frontier, head_time, head_sig";
        var rows = await c.QueryAsync(Increment, tx, MapHead, ("@o", orgId)).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            await c.ExecAsync("INSERT INTO audit_heads (org_id, size) VALUES (@o, 0) ON CONFLICT DO NOTHING", tx, ("@o", orgId)).ConfigureAwait(false);
            rows = await c.QueryAsync(Increment, tx, MapHead, ("@o", orgId)).ConfigureAwait(false);
        }

        var stored = rows[0];
        var previous = Check(orgId, stored with { Size = stored.Size - 1 });
        var frontier = previous.Frontier!.Clone();
        long index = previous.Size;
        var now = Truncate(_time.GetUtcNow());
        var entry = new JsonObject
        {
            ["type"] = EntryType,
            ["org_id"] = orgId,
            ["index"] = index,
            ["time"] = now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture),
            ["source"] = recordSignature is null ? "server" : "agent",
            ["record"] = record.DeepClone(),
        };
        if (recordSignature is not null)
        {
            // Server-asserted: the agent the signing key is registered to, covered by the leaf hash.
            entry["agent_id"] = agentId;
            entry["record_sig"] = Base64Url.EncodeToString(recordSignature);
        }

        if (agentKeyId is not null)
        {
            entry["agent_key"] = agentKeyId;
        }

        var body = CanonicalJson.Serialize(entry);
        var leaf = MerkleHash.Leaf(body);
        var nodes = new List<(int Level, long Index, byte[] Hash)>(2);
        frontier.Append(leaf, (level, i, hash) => nodes.Add((level, i, hash)));
        var root = frontier.Root();
        var head = SignedTreeHead.Sign(index + 1, root, now, _logKey);
        await c.ExecAsync("INSERT INTO audit_entries (org_id, idx, time, agent_id, kind, capability, decision, action_id, body, leaf) VALUES (@o, @i, @t, @a, @k, @c, @d, @ac, @b, @l)", tx,
            ("@o", orgId), ("@i", index), ("@t", now.ToUnixTimeMilliseconds()), ("@a", agentId), ("@k", Str(record, "kind") ?? "event"),
            ("@c", Str(record, "capability")), ("@d", Str(record, "decision")), ("@ac", Str(record, "action_id")), ("@b", body), ("@l", leaf)).ConfigureAwait(false);
        foreach (var (level, i, hash) in nodes)
        {
            await c.ExecAsync("INSERT INTO audit_nodes (org_id, level, idx, hash) VALUES (@o, @lv, @i, @h)", tx, ("@o", orgId), ("@lv", (long)level), ("@i", i), ("@h", hash)).ConfigureAwait(false);
        }

        await c.ExecAsync("UPDATE audit_heads SET root = @r, frontier = @f, head_time = @t, head_sig = @s WHERE org_id = @o", tx,
            ("@r", root), ("@f", frontier.Export()), ("@t", now.ToUnixTimeMilliseconds()), ("@s", head.Signature), ("@o", orgId)).ConfigureAwait(false);
        var state = new HeadState(index + 1, root, frontier, head);
        _produced[orgId] = state;
        return (index, state);
    }

    // ---- heads and proofs ----

    /// <summary>
    /// The organization's current signed head (the one persisted with its last entry; for an empty log a head signed now).
    /// It is recorded in the head ledger: the server never serves a head it could later contradict.
    /// </summary>
    /// <exception cref="ApiException">503 <c>audit_log_inconsistent</c>.</exception>
    public async Task<SignedTreeHead> TreeHeadAsync(string orgId, CancellationToken ct = default)
    {
        var state = await CurrentAsync(orgId, ct).ConfigureAwait(false);
        var head = state.Head ?? SignedTreeHead.Sign(0, MerkleHash.EmptyRoot(), _time.GetUtcNow(), _logKey);
        if (state.Size > 0)
        {
            _ledger?.Record(orgId, head);
        }

        return head;
    }

    /// <summary>How many entries the organization's log holds (no checks; for live displays).</summary>
    public Task<long> SizeAsync(string orgId, CancellationToken ct = default) => _db.ReadAsync(async c =>
        await c.ScalarAsync("SELECT size FROM audit_heads WHERE org_id = @o", null, ("@o", orgId)).ConfigureAwait(false) is { } v ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : 0L, ct);

    /// <exception cref="ApiException">The index or size is out of range, or the log is inconsistent.</exception>
    public async Task<InclusionProof> InclusionProofAsync(string orgId, long index, long treeSize, CancellationToken ct = default)
    {
        var state = await CurrentAsync(orgId, ct).ConfigureAwait(false);
        if (treeSize < 1 || treeSize > state.Size || index < 0 || index >= treeSize)
        {
            throw ApiException.BadRequest("proof_out_of_range", $"Need 0 <= index < tree_size <= {state.Size}.");
        }

        var path = await WithNodesAsync(orgId, p => p.InclusionPath(index, treeSize), ct).ConfigureAwait(false);
        return new InclusionProof(index, treeSize, path);
    }

    /// <exception cref="ApiException">The sizes are out of range, or the log is inconsistent.</exception>
    public async Task<ConsistencyProof> ConsistencyProofAsync(string orgId, long oldSize, long newSize, CancellationToken ct = default)
    {
        var state = await CurrentAsync(orgId, ct).ConfigureAwait(false);
        if (oldSize < 0 || newSize < oldSize || newSize > state.Size)
        {
            throw ApiException.BadRequest("proof_out_of_range", $"Need 0 <= old_size <= new_size <= {state.Size}.");
        }

        var path = await WithNodesAsync(orgId, p => p.ConsistencyPath(oldSize, newSize), ct).ConfigureAwait(false);
        return new ConsistencyProof(oldSize, newSize, path);
    }

    public Task<List<AuditEntryRow>> QueryAsync(string orgId, long from, int limit, string? agentId, string? capability, string? kind, string? decision, CancellationToken ct = default) =>
        _db.ReadAsync(c => c.QueryAsync(
            "SELECT org_id, idx, time, agent_id, kind, capability, decision, action_id, body, leaf FROM audit_entries WHERE org_id = @o AND idx >= @f " +
            "AND (@a IS NULL OR agent_id = @a) AND (@c IS NULL OR capability = @c) AND (@k IS NULL OR kind = @k) AND (@d IS NULL OR decision = @d) ORDER BY idx LIMIT @l", null,
            MapEntry, ("@o", orgId), ("@f", from), ("@a", agentId), ("@c", capability), ("@k", kind), ("@d", decision), ("@l", (long)limit)), ct);

    // ---- verification ----

    /// <summary>
    /// Checks the whole log from the database alone, the same before and after a restart: the stored head's signature and
    /// frontier; every entry's index, form and (agent entries) signature by a key registered to that agent at that time;
    /// the root recomputed from every entry's bytes against the signed head and against every head this process and the
    /// head ledger know. The first failure is reported with an <see cref="AuditReasonCodes"/> code.
    /// </summary>
    public async Task<ServerAuditVerification> VerifyAsync(string orgId, CancellationToken ct = default)
    {
        if (_broken.TryGetValue(orgId, out var broken))
        {
            return broken;
        }

        HeadState state;
        try
        {
            state = Check(orgId, await ReadHeadAsync(orgId, ct).ConfigureAwait(false));
        }
        catch (InconsistentLogException ex)
        {
            return Fail(orgId, ex.Result);
        }

        // Every head this side knows must be a prefix of what the entries hash to.
        var checkpoints = new SortedDictionary<long, (byte[] Root, string Source)> { [state.Size] = (state.Root, "signed head stored with the last entry") };
        if (_trusted.TryGetValue(orgId, out var trusted) && trusted.Size <= state.Size)
        {
            checkpoints.TryAdd(trusted.Size, (trusted.Root, "head this server signed or checked earlier"));
        }

        if (_ledger?.Last(orgId) is { } recorded && recorded.TreeSize <= state.Size)
        {
            checkpoints.TryAdd(recorded.TreeSize, (recorded.RootHash, "head recorded in the head ledger"));
        }

        var keys = await AgentKeysAsync(orgId, null, ct).ConfigureAwait(false);
        var frontier = new MerkleFrontier();
        long lastGood = 0;
        const int Page = 2000;
        while (true)
        {
            var rows = await QueryAsync(orgId, frontier.Size, Page, null, null, null, null, ct).ConfigureAwait(false);
            foreach (var row in rows)
            {
                if (row.Index != frontier.Size)
                {
                    return Result(false, frontier.Size, AuditReasonCodes.EntryDeleted, frontier.Size, $"Entry {frontier.Size} is missing (the next stored entry is {row.Index}).");
                }

                if (frontier.Size >= state.Size)
                {
                    return Result(false, frontier.Size, AuditReasonCodes.EntryInserted, frontier.Size, $"Entry {row.Index} lies beyond the signed head of size {state.Size}: it was never committed.");
                }

                if (CheckEntry(orgId, row, keys) is { } problem)
                {
                    return Result(false, frontier.Size, problem.Code, row.Index, problem.Message);
                }

                frontier.Append(MerkleHash.Leaf(row.Body));
                if (checkpoints.TryGetValue(frontier.Size, out var expected))
                {
                    if (!CryptographicOperations.FixedTimeEquals(frontier.Root(), expected.Root))
                    {
                        return Result(false, frontier.Size, AuditReasonCodes.RootMismatch, lastGood,
                            $"The first {frontier.Size} entries do not hash to the root of the {expected.Source}: an entry at index {lastGood} or later was changed, moved or removed.");
                    }

                    lastGood = frontier.Size;
                }
            }

            if (rows.Count < Page)
            {
                break;
            }
        }

        if (frontier.Size < state.Size)
        {
            long smallest = checkpoints.Keys.First(k => k > frontier.Size);
            return Result(false, frontier.Size, AuditReasonCodes.Truncated, frontier.Size, $"The log holds {frontier.Size} entries but the {checkpoints[smallest].Source} covers {smallest}: entries from {frontier.Size} on were removed.");
        }

        Committed(orgId, state);
        return Result(true, frontier.Size, null, null, null);
    }

    /// <summary>Checks one stored entry as <see cref="VerifyAsync"/> does (for the dashboard's "verify this entry").</summary>
    public async Task<(string Code, string Message)?> CheckEntryAsync(string orgId, AuditEntryRow row, CancellationToken ct = default) =>
        CheckEntry(orgId, row, await AgentKeysAsync(orgId, row.AgentId, ct).ConfigureAwait(false));

    /// <summary>A registered agent key: whose it is, and from when until when it signs.</summary>
    private sealed record KeyHistory(string AgentId, string AgentName, byte[] PublicKey, long Created, long? NotAfter);

    private Task<Dictionary<string, KeyHistory>> AgentKeysAsync(string orgId, string? agentId, CancellationToken ct) => _db.ReadAsync(async c =>
    {
        var rows = await c.QueryAsync(
            "SELECT k.key_id, k.agent_id, a.name, k.public_key, k.created, k.not_after FROM agent_keys k JOIN agents a ON a.id = k.agent_id " +
            "WHERE k.org_id = @o AND a.org_id = @o AND (@a IS NULL OR k.agent_id = @a)", null,
            r => (r.GetString(0), new KeyHistory(r.GetString(1), r.GetString(2), r.Bytes(3), r.GetInt64(4), r.NullableInt64(5))), ("@o", orgId), ("@a", agentId)).ConfigureAwait(false);
        return rows.ToDictionary(r => r.Item1, r => r.Item2, StringComparer.Ordinal);
    }, ct);

    /// <summary>Null when the entry is well formed, at its index, and (agent entries) signed by a key registered to its agent when it was written.</summary>
    private static (string Code, string Message)? CheckEntry(string orgId, AuditEntryRow row, IReadOnlyDictionary<string, KeyHistory> keys)
    {
        JsonObject entry;
        JsonObject record;
        try
        {
            if (JsonNode.Parse(row.Body) is not JsonObject e || (string?)e["type"] != EntryType || (string?)e["org_id"] != orgId || (long?)e["index"] != row.Index
                || e["record"] is not JsonObject r || (string?)e["source"] is not ("server" or "agent"))
            {
                return (AuditReasonCodes.EntryModified, $"Entry {row.Index} is not a well-formed entry of this log at this index.");
            }

            (entry, record) = (e, r);
            if ((string?)entry["source"] == "server")
            {
                return entry["record_sig"] is null ? null : (AuditReasonCodes.EntryModified, $"Entry {row.Index} is a server entry with an agent signature.");
            }

            string? keyId = (string?)entry["agent_key"];
            if (keyId is null || !keys.TryGetValue(keyId, out var key) || !AgentIdentity.TryPublicKeyFromAipId(keyId, out var named)
                || !CryptographicOperations.FixedTimeEquals(named, key.PublicKey))
            {
                return (AuditReasonCodes.SignerUntrusted, $"Entry {row.Index} names a key that is not registered to an agent of this organization.");
            }

            long time = AuditTime(entry);
            if (key.AgentId != row.AgentId || ((string?)entry["agent_id"] is { } claimed && claimed != key.AgentId) || (string?)record["agent_name"] != key.AgentName
                || time < key.Created || (key.NotAfter is { } until && time > until + RotationGraceMs))
            {
                return (AuditReasonCodes.SignerUntrusted, $"Entry {row.Index} is signed by a key that was not its agent's registered key at the entry's time.");
            }

            if (!Base64Url.IsValid((string?)entry["record_sig"] ?? string.Empty)
                || !Ed25519.Verify(key.PublicKey, CanonicalJson.Serialize(record), Base64Url.DecodeFromChars((string)entry["record_sig"]!)))
            {
                return (AuditReasonCodes.EntrySignatureInvalid, $"The agent signature of entry {row.Index} does not verify under its agent's registered key.");
            }

            return null;
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException or ArgumentException or CanonicalJsonException)
        {
            return (AuditReasonCodes.EntryModified, $"Entry {row.Index} is malformed.");
        }
    }

    private static long AuditTime(JsonObject entry) =>
        DateTimeOffset.ParseExact((string?)entry["time"] ?? throw new FormatException("no time"), TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUnixTimeMilliseconds();

    // ---- start: backfill, consistency with the ledger ----

    /// <summary>
    /// Run once at start. Gives logs written before heads were persisted their nodes and a signed head (from the entries'
    /// own bytes), then checks every organization's stored head: signature, frontier, entry count, and that it extends
    /// the last head in the head ledger. An organization that fails is refused appends and heads and logged as critical.
    /// </summary>
    public async Task InitializeAsync(CancellationToken ct = default)
    {
        var orgs = await _db.ReadAsync(c => c.QueryAsync("SELECT org_id, size, head_sig FROM audit_heads", null, r => (Org: r.GetString(0), Size: r.GetInt64(1), Signed: !r.IsDBNull(2))), ct).ConfigureAwait(false);
        foreach (var (org, size, signed) in orgs.Where(o => o.Size > 0 && !o.Signed))
        {
            await BackfillAsync(org, size, ct).ConfigureAwait(false);
        }

        var known = orgs.Select(o => o.Org).ToHashSet(StringComparer.Ordinal);
        foreach (var (org, problem) in _ledger?.Damaged ?? [])
        {
            Fail(org, Result(false, 0, AuditReasonCodes.TreeHeadInvalid, null, problem));
        }

        foreach (var org in _ledger?.Organizations() ?? [])
        {
            if (!known.Contains(org))
            {
                Fail(org, Result(false, 0, AuditReasonCodes.Truncated, 0, $"The head ledger holds a head of size {_ledger!.Last(org)!.TreeSize} for this organization but the database holds no log."));
            }
        }

        foreach (var org in known)
        {
            try
            {
                var state = Check(org, await ReadHeadAsync(org, ct).ConfigureAwait(false));
                await CheckCountAsync(org, state.Size, ct).ConfigureAwait(false);
                await CheckExtendsLedgerAsync(org, state, ct).ConfigureAwait(false);
                Committed(org, state);
                if (state.Head is { } head)
                {
                    _ledger?.Record(org, head);
                }
            }
            catch (InconsistentLogException ex)
            {
                Fail(org, ex.Result);
            }
        }

        _ledger?.Compact();
    }

    /// <summary>Records the current heads in the ledger (at shutdown).</summary>
    public void RecordHeads()
    {
        foreach (var (org, state) in _trusted)
        {
            if (state.Head is { } head && !_broken.ContainsKey(org))
            {
                _ledger?.Record(org, head);
            }
        }
    }

    private async Task BackfillAsync(string orgId, long size, CancellationToken ct)
    {
        await _db.WriteAsync(async (c, tx) =>
        {
            var rows = await c.QueryAsync("SELECT idx, body, leaf FROM audit_entries WHERE org_id = @o ORDER BY idx", tx, r => (Index: r.GetInt64(0), Body: r.Bytes(1), Leaf: r.Bytes(2)), ("@o", orgId)).ConfigureAwait(false);
            var frontier = new MerkleFrontier();
            foreach (var (index, body, leaf) in rows)
            {
                var computed = MerkleHash.Leaf(body);
                if (index != frontier.Size || !CryptographicOperations.FixedTimeEquals(computed, leaf))
                {
                    // Not signed over: a log that is already damaged is reported, not blessed.
                    _logger?.LogCritical("The audit log of organization {Org} cannot be given a signed head: entry {Index} is missing or does not match its leaf hash.", orgId, frontier.Size);
                    return;
                }

                var nodes = new List<(int Level, long Index, byte[] Hash)>(2);
                frontier.Append(computed, (level, i, hash) => nodes.Add((level, i, hash)));
                foreach (var (level, i, hash) in nodes)
                {
                    await c.ExecAsync("INSERT INTO audit_nodes (org_id, level, idx, hash) VALUES (@o, @lv, @i, @h) ON CONFLICT DO NOTHING", tx,
                        ("@o", orgId), ("@lv", (long)level), ("@i", i), ("@h", hash)).ConfigureAwait(false);
                }
            }

            if (frontier.Size != size)
            {
                _logger?.LogCritical("The audit log of organization {Org} holds {Count} entries but counts {Size}; no signed head was written.", orgId, frontier.Size, size);
                return;
            }

            var now = Truncate(_time.GetUtcNow());
            var root = frontier.Root();
            var head = SignedTreeHead.Sign(size, root, now, _logKey);
            await c.ExecAsync("UPDATE audit_heads SET root = @r, frontier = @f, head_time = @t, head_sig = @s WHERE org_id = @o AND size = @n AND head_sig IS NULL", tx,
                ("@r", root), ("@f", frontier.Export()), ("@t", now.ToUnixTimeMilliseconds()), ("@s", head.Signature), ("@o", orgId), ("@n", size)).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    private async Task CheckCountAsync(string orgId, long size, CancellationToken ct)
    {
        var (count, max) = await _db.ReadAsync(async c => (await c.QueryAsync("SELECT COUNT(*), COALESCE(MAX(idx), -1) FROM audit_entries WHERE org_id = @o", null,
            r => (r.GetInt64(0), r.GetInt64(1)), ("@o", orgId)).ConfigureAwait(false))[0], ct).ConfigureAwait(false);
        if (count < size || max < size - 1)
        {
            throw Inconsistent(AuditReasonCodes.Truncated, count, $"The signed head covers {size} entries but the database holds {count}: entries were removed.");
        }

        if (count > size || max > size - 1)
        {
            throw Inconsistent(AuditReasonCodes.EntryInserted, size, $"The database holds {count} entries but the signed head covers {size}: entries were added outside the log.");
        }
    }

    private async Task CheckExtendsLedgerAsync(string orgId, HeadState state, CancellationToken ct)
    {
        if (_ledger?.Last(orgId) is not { } earlier || earlier.TreeSize == 0)
        {
            return;
        }

        if (earlier.TreeSize > state.Size)
        {
            throw Inconsistent(AuditReasonCodes.Truncated, state.Size, $"The database's signed head covers {state.Size} entries but the head ledger recorded {earlier.TreeSize}: the log was truncated or rolled back.");
        }

        var path = earlier.TreeSize == state.Size ? [] : await WithNodesAsync(orgId, p => p.ConsistencyPath(earlier.TreeSize, state.Size), ct).ConfigureAwait(false);
        if (!ConsistencyProof.Verify(earlier.RootHash, state.Root, new ConsistencyProof(earlier.TreeSize, state.Size, path)))
        {
            throw Inconsistent(AuditReasonCodes.RootMismatch, earlier.TreeSize, $"The database's log does not extend the head of size {earlier.TreeSize} recorded in the head ledger: entries before it were changed.");
        }
    }

    // ---- the checks every read and append share ----

    private async Task<HeadState> CurrentAsync(string orgId, CancellationToken ct)
    {
        var state = await Guard(orgId, async () => Check(orgId, await ReadHeadAsync(orgId, ct).ConfigureAwait(false))).ConfigureAwait(false);
        Committed(orgId, state);
        return state;
    }

    private Task<StoredHead> ReadHeadAsync(string orgId, CancellationToken ct) => _db.ReadAsync(async c =>
        (await c.QueryAsync("SELECT size, root, frontier, head_time, head_sig FROM audit_heads WHERE org_id = @o", null, MapHead, ("@o", orgId)).ConfigureAwait(false))
            .FirstOrDefault() ?? new StoredHead(0, null, null, null, null), ct);

    /// <summary>The stored head as a checked state: signed by the log key, its frontier hashing to its root, never behind a trusted head.</summary>
    private HeadState Check(string orgId, StoredHead stored)
    {
        if (_broken.TryGetValue(orgId, out var broken))
        {
            throw new InconsistentLogException(broken);
        }

        HeadState state;
        if (stored.Size == 0)
        {
            state = new HeadState(0, MerkleHash.EmptyRoot(), new MerkleFrontier(), null);
        }
        else if (stored.Root is not null && Known(_produced, orgId, stored) is { } produced)
        {
            state = produced;
        }
        else if (stored.Root is not null && Known(_trusted, orgId, stored) is { } trustedState)
        {
            state = trustedState;
        }
        else
        {
            if (stored is not { Root: { } root, Frontier: { } blob, Time: { } time, Signature: { } signature })
            {
                throw Inconsistent(AuditReasonCodes.TreeHeadInvalid, null, $"The log's stored head (size {stored.Size}) is not signed.");
            }

            var head = new SignedTreeHead(stored.Size, root, DateTimeOffset.FromUnixTimeMilliseconds(time), _logKey.PublicKey.ToArray(), signature);
            if (!head.VerifySignature())
            {
                throw Inconsistent(AuditReasonCodes.TreeHeadInvalid, null, $"The log's stored head (size {stored.Size}) is not validly signed by this server's log key.");
            }

            if (!MerkleFrontier.TryImport(stored.Size, blob, out var frontier) || !CryptographicOperations.FixedTimeEquals(frontier.Root(), root))
            {
                throw Inconsistent(AuditReasonCodes.TreeHeadInvalid, null, $"The log's stored frontier does not hash to its signed root (size {stored.Size}).");
            }

            state = new HeadState(stored.Size, root, frontier, head);
        }

        if (_trusted.TryGetValue(orgId, out var trusted))
        {
            if (trusted.Size > state.Size)
            {
                throw Inconsistent(AuditReasonCodes.Truncated, state.Size, $"The stored head covers {state.Size} entries but this server already signed or checked a head of {trusted.Size}: the log was truncated or rolled back.");
            }

            if (trusted.Size == state.Size && !CryptographicOperations.FixedTimeEquals(trusted.Root, state.Root))
            {
                throw Inconsistent(AuditReasonCodes.RootMismatch, null, $"The stored head of size {state.Size} has another root than the one this server signed or checked.");
            }
        }

        return state;
    }

    private static HeadState? Known(ConcurrentDictionary<string, HeadState> states, string orgId, StoredHead stored) =>
        states.TryGetValue(orgId, out var s) && s.Size == stored.Size && s.Frontier is not null && CryptographicOperations.FixedTimeEquals(s.Root, stored.Root!) ? s : null;

    /// <summary>A head is committed and genuine: later stored heads may not fall behind it.</summary>
    private void Committed(string orgId, HeadState state) =>
        _trusted.AddOrUpdate(orgId, state, (_, old) => state.Size > old.Size ? state : old);

    private async Task<T> Guard<T>(string orgId, Func<Task<T>> work)
    {
        try
        {
            return await work().ConfigureAwait(false);
        }
        catch (InconsistentLogException ex)
        {
            Fail(orgId, ex.Result);
            throw new ApiException(503, InconsistentCode, "This organization's audit log failed a consistency check; it accepts no entries until an operator restores it (see GET /api/v1/audit/verify).");
        }
    }

    private ServerAuditVerification Fail(string orgId, ServerAuditVerification result)
    {
        if (_broken.TryAdd(orgId, result))
        {
            _logger?.LogCritical("The audit log of organization {Org} is inconsistent ({Code}): {Message} It refuses appends until restored.", orgId, result.ReasonCode, result.Message);
        }

        return _broken[orgId];
    }

    private static InconsistentLogException Inconsistent(string code, long? index, string message) => new(Result(false, 0, code, index, message));

    private static ServerAuditVerification Result(bool valid, long checkedCount, string? code, long? index, string? message) => new(valid, checkedCount, code, index, message);

    /// <summary>Builds a proof over the stored subtree hashes: a dry run finds the ones it needs, one query reads them.</summary>
    private async Task<List<byte[]>> WithNodesAsync(string orgId, Func<MerkleProofs, List<byte[]>> build, CancellationToken ct)
    {
        var needed = MerkleProofs.NodesNeeded(p => build(p));
        var found = new Dictionary<(int, long), byte[]>(needed.Count);
        if (needed.Count > 0)
        {
            await _db.ReadAsync(async c =>
            {
                foreach (var chunk in needed.Chunk(100))
                {
                    var leaves = chunk.Where(n => n.Level == 0).ToList();
                    var inner = chunk.Where(n => n.Level > 0).ToList();
                    if (leaves.Count > 0)
                    {
                        var ps = leaves.Select((n, i) => ($"@i{i}", (object?)n.Index)).Prepend(("@o", orgId)).ToArray();
                        foreach (var (index, leaf) in await c.QueryAsync($"SELECT idx, leaf FROM audit_entries WHERE org_id = @o AND idx IN ({string.Join(", ", leaves.Select((_, i) => $"@i{i}"))})", null,
                            r => (r.GetInt64(0), r.Bytes(1)), ps).ConfigureAwait(false))
                        {
                            found[(0, index)] = leaf;
                        }
                    }

                    if (inner.Count > 0)
                    {
                        var ps = inner.SelectMany((n, i) => new[] { ($"@l{i}", (object?)(long)n.Level), ($"@i{i}", (object?)n.Index) }).Prepend(("@o", orgId)).ToArray();
                        string where = string.Join(" OR ", inner.Select((_, i) => $"(level = @l{i} AND idx = @i{i})"));
                        foreach (var (level, index, hash) in await c.QueryAsync($"SELECT level, idx, hash FROM audit_nodes WHERE org_id = @o AND ({where})", null,
                            r => ((int)r.GetInt64(0), r.GetInt64(1), r.Bytes(2)), ps).ConfigureAwait(false))
                        {
                            found[(level, index)] = hash;
                        }
                    }
                }

                return true;
            }, ct).ConfigureAwait(false);
        }

        try
        {
            return build(new MerkleProofs((l, i) => found.TryGetValue((l, i), out var hash) && hash.Length == MerkleHash.Size
                ? hash
                : throw Inconsistent(AuditReasonCodes.RootMismatch, null, $"The stored subtree hash (level {l}, index {i}) is missing.")));
        }
        catch (InconsistentLogException ex)
        {
            Fail(orgId, ex.Result);
            throw new ApiException(503, InconsistentCode, "This organization's audit log is missing stored subtree hashes; proofs cannot be built.");
        }
    }

    private static DateTimeOffset Truncate(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static StoredHead MapHead(DbDataReader r) =>
        new(r.GetInt64(0), r.IsDBNull(1) ? null : r.Bytes(1), r.IsDBNull(2) ? null : r.Bytes(2), r.NullableInt64(3), r.IsDBNull(4) ? null : r.Bytes(4));

    private static AuditEntryRow MapEntry(DbDataReader r) =>
        new(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.NullableString(3), r.GetString(4), r.NullableString(5), r.NullableString(6), r.NullableString(7), r.Bytes(8), r.Bytes(9));
}
