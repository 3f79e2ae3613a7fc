using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Server.Storage;

namespace Aim.Server.Siem;

/// <summary>An outbox row due for delivery, with the entry it points at.</summary>
internal sealed record OutboxItem(string OrgId, long Index, int Attempts, JsonObject Event);

/// <summary>
/// The persistent outbox, in the server database. <c>siem_cursor</c> remembers, per sink and organization, the next
/// audit index to look at; <c>Enqueue</c> copies new entries at or above the sink's severity into <c>siem_outbox</c>
/// and moves the cursor in the same transaction, so an entry is queued exactly once even across restarts. A row
/// leaves the outbox only after the SIEM accepted it (at-least-once: a crash between send and delete resends).
/// </summary>
internal sealed class SiemOutbox(Database db, TimeProvider time)
{
    private const int ScanPage = 500;
    private bool _created;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task EnsureTablesAsync(CancellationToken ct)
    {
        if (_created)
        {
            return;
        }

        // Own tables, created idempotently: the SIEM forwarder is optional and needs nothing from the main migrations.
        await db.WriteAsync(async (c, tx) =>
        {
            await c.ExecAsync("CREATE TABLE IF NOT EXISTS siem_cursor (sink TEXT NOT NULL, org_id TEXT NOT NULL, next_idx BIGINT NOT NULL, PRIMARY KEY (sink, org_id))", tx).ConfigureAwait(false);
            await c.ExecAsync("CREATE TABLE IF NOT EXISTS siem_outbox (sink TEXT NOT NULL, org_id TEXT NOT NULL, idx BIGINT NOT NULL, attempts BIGINT NOT NULL, " +
                "next_attempt BIGINT NOT NULL, last_error TEXT, PRIMARY KEY (sink, org_id, idx))", tx).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        _created = true;
    }

    /// <summary>Queues new audit entries for <paramref name="sink"/>; returns how many were queued.</summary>
    public Task<int> EnqueueAsync(ISiemSink sink, CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        var orgs = await c.QueryAsync("SELECT h.org_id, COALESCE(s.next_idx, 0), h.size FROM audit_heads h LEFT JOIN siem_cursor s ON s.org_id = h.org_id AND s.sink = @s", tx,
            r => (Org: r.GetString(0), Next: r.GetInt64(1), Size: r.GetInt64(2)), ("@s", sink.Name)).ConfigureAwait(false);
        int queued = 0;
        foreach (var (org, next, size) in orgs.Where(o => o.Size > o.Next))
        {
            var rows = await c.QueryAsync("SELECT idx, capability, decision, body FROM audit_entries WHERE org_id = @o AND idx >= @f ORDER BY idx LIMIT @l", tx,
                r => (Index: r.GetInt64(0), Capability: r.NullableString(1), Decision: r.NullableString(2), Body: r.Bytes(3)), ("@o", org), ("@f", next), ("@l", (long)ScanPage)).ConfigureAwait(false);
            long cursor = next;
            foreach (var row in rows)
            {
                if (row.Index != cursor)
                {
                    break; // a gap: an earlier append has not committed yet; look again next round
                }

                var severity = SiemEvent.SeverityOf(row.Capability, row.Decision, Record(row.Body));
                if (severity >= sink.MinimumSeverity)
                {
                    queued += await c.ExecAsync("INSERT INTO siem_outbox (sink, org_id, idx, attempts, next_attempt) VALUES (@s, @o, @i, 0, @t) ON CONFLICT DO NOTHING", tx,
                        ("@s", sink.Name), ("@o", org), ("@i", row.Index), ("@t", Now)).ConfigureAwait(false);
                }

                cursor++;
            }

            if (cursor != next)
            {
                await c.ExecAsync("INSERT INTO siem_cursor (sink, org_id, next_idx) VALUES (@s, @o, @n) ON CONFLICT (sink, org_id) DO UPDATE SET next_idx = @n", tx,
                    ("@s", sink.Name), ("@o", org), ("@n", cursor)).ConfigureAwait(false);
            }
        }

        return queued;
    }, ct);

    /// <summary>The oldest due rows of a sink (at most <paramref name="limit"/>), with their events built from the stored entries.</summary>
    public Task<List<OutboxItem>> DueAsync(ISiemSink sink, int limit, CancellationToken ct) => db.ReadAsync(async c =>
    {
        var rows = await c.QueryAsync(
            "SELECT o.org_id, o.idx, o.attempts, e.time, e.capability, e.decision, e.body, e.leaf FROM siem_outbox o JOIN audit_entries e ON e.org_id = o.org_id AND e.idx = o.idx " +
            "WHERE o.sink = @s AND o.next_attempt <= @t ORDER BY o.next_attempt, o.org_id, o.idx LIMIT @l", null,
            r => (Org: r.GetString(0), Index: r.GetInt64(1), Attempts: (int)r.GetInt64(2), Time: r.GetInt64(3), Capability: r.NullableString(4), Decision: r.NullableString(5), Body: r.Bytes(6), Leaf: r.Bytes(7)),
            ("@s", sink.Name), ("@t", Now), ("@l", (long)limit)).ConfigureAwait(false);
        return rows.Select(r => new OutboxItem(r.Org, r.Index, r.Attempts,
            SiemEvent.From(r.Org, r.Index, r.Time, r.Body, r.Leaf, SiemEvent.SeverityOf(r.Capability, r.Decision, Record(r.Body))))).ToList();
    }, ct);

    public Task DeliveredAsync(ISiemSink sink, IReadOnlyList<OutboxItem> items, CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        foreach (var item in items)
        {
            await c.ExecAsync("DELETE FROM siem_outbox WHERE sink = @s AND org_id = @o AND idx = @i", tx, ("@s", sink.Name), ("@o", item.OrgId), ("@i", item.Index)).ConfigureAwait(false);
        }
    }, ct);

    public Task FailedAsync(ISiemSink sink, IReadOnlyList<OutboxItem> items, string error, Func<int, TimeSpan> backoff, CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        foreach (var item in items)
        {
            long next = Now + (long)backoff(item.Attempts + 1).TotalMilliseconds;
            await c.ExecAsync("UPDATE siem_outbox SET attempts = attempts + 1, next_attempt = @n, last_error = @e WHERE sink = @s AND org_id = @o AND idx = @i", tx,
                ("@n", next), ("@e", error.Length > 500 ? error[..500] : error), ("@s", sink.Name), ("@o", item.OrgId), ("@i", item.Index)).ConfigureAwait(false);
        }
    }, ct);

    /// <summary>How many entries wait for <paramref name="sink"/> (for health checks and tests).</summary>
    public async Task<long> PendingAsync(string sink, CancellationToken ct = default)
    {
        // The forwarder creates the tables when it starts; a caller asking earlier must not see "no such table".
        await EnsureTablesAsync(ct).ConfigureAwait(false);
        return await db.ReadAsync(async c =>
            Convert.ToInt64(await c.ScalarAsync("SELECT COUNT(*) FROM siem_outbox WHERE sink = @s", null, ("@s", sink)).ConfigureAwait(false), CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
    }

    private static JsonObject? Record(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body)?["record"] as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
