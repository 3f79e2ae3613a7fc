using System.Data.Common;
using System.Globalization;
using Aim.Authorization;
using Aim.Policy;
using Aim.Server.Storage;

namespace Aim.Server.Decisions;

/// <summary>
/// Step 3's state on the server: rate-limit events and budget spending in the database, so every replica sharing it
/// enforces one limit. The same semantics as <see cref="InMemoryContextLimits"/> (see <see cref="IContextLimits"/>):
/// exact sliding windows over <c>(now - per, now]</c> in ticks, a call counted against every matching rule only when all
/// have room, fixed budget periods from the Unix epoch. Runs inside the transaction that stores the verification: on
/// SQLite the single writer serializes it; on PostgreSQL the agent's row is locked first, so two replicas deciding for
/// the same agent take turns.
/// </summary>
internal static class DatabaseLimits
{
    /// <summary>Takes one call against the rate limits and, when asked, reserves its cost (see <see cref="IContextLimits.TakeAsync"/>).</summary>
    public static async Task<LimitResult> TakeAsync(DbConnection c, DbTransaction tx, SqlDialect dialect, string agentId, ContextLimitRequest limits)
    {
        var (policy, request, reserve) = limits;
        if (dialect == SqlDialect.Postgres)
        {
            await c.ScalarAsync("SELECT id FROM agents WHERE id = @a FOR UPDATE", tx, ("@a", agentId)).ConfigureAwait(false);
        }

        long now = request.Time.UtcTicks;
        var matching = new List<RateLimitRule>();
        foreach (var rule in policy.RateLimits)
        {
            if (rule.Capability.Matches(request.Capability))
            {
                matching.Add(rule);
            }
        }

        // rate_counts holds the number of each rule's rows in rate_events (kept in this transaction with every insert and
        // delete), so the check is two index lookups instead of counting the window: after the delete, every row left is
        // inside it (at > from), which is what the count covered. Two rules with one key share one count, as they share rows.
        TimeSpan retryAfter = TimeSpan.Zero;
        var counts = new Dictionary<string, (long Stored, long Now)>(StringComparer.Ordinal);
        foreach (var rule in matching)
        {
            string key = RuleKey(rule);
            long from = now - rule.Per.Ticks;
            if (!counts.TryGetValue(key, out var count))
            {
                int expired = await c.ExecAsync("DELETE FROM rate_events WHERE agent_id = @a AND rule = @r AND at <= @f", tx, ("@a", agentId), ("@r", key), ("@f", from)).ConfigureAwait(false);
                object? events = await c.ScalarAsync("SELECT events FROM rate_counts WHERE agent_id = @a AND rule = @r", tx, ("@a", agentId), ("@r", key)).ConfigureAwait(false);
                long stored = events is null or DBNull ? -1 : Convert.ToInt64(events, CultureInfo.InvariantCulture);
                long left = stored - expired;
                if (stored < 0 || left < 0)
                {
                    // No counter yet (a rule seen for the first time) or one that disagrees with its rows: count them once.
                    left = Convert.ToInt64(await c.ScalarAsync("SELECT COUNT(*) FROM rate_events WHERE agent_id = @a AND rule = @r", tx,
                        ("@a", agentId), ("@r", key)).ConfigureAwait(false), CultureInfo.InvariantCulture);
                }

                counts[key] = count = (stored, left);
            }

            if (count.Now >= rule.Limit)
            {
                // The call that must leave the window before this one fits: the oldest of the last `limit` calls.
                long oldest = Convert.ToInt64(await c.ScalarAsync("SELECT at FROM rate_events WHERE agent_id = @a AND rule = @r AND at > @f ORDER BY at LIMIT 1 OFFSET @n", tx,
                    ("@a", agentId), ("@r", key), ("@f", from), ("@n", count.Now - rule.Limit)).ConfigureAwait(false), CultureInfo.InvariantCulture);
                var wait = TimeSpan.FromTicks(Math.Max(0, oldest + rule.Per.Ticks - now));
                retryAfter = wait > retryAfter ? wait : retryAfter;
            }
        }

        bool allowed = retryAfter <= TimeSpan.Zero;
        if (allowed)
        {
            foreach (var rule in matching)
            {
                string key = RuleKey(rule);
                await c.ExecAsync("INSERT INTO rate_events (agent_id, rule, at) VALUES (@a, @r, @t)", tx, ("@a", agentId), ("@r", key), ("@t", now)).ConfigureAwait(false);
                counts[key] = (counts[key].Stored, counts[key].Now + 1);
            }
        }

        foreach (var (key, count) in counts)
        {
            if (count.Stored != count.Now)
            {
                await c.ExecAsync("INSERT INTO rate_counts (agent_id, rule, events) VALUES (@a, @r, @n) ON CONFLICT (agent_id, rule) DO UPDATE SET events = excluded.events", tx,
                    ("@a", agentId), ("@r", key), ("@n", count.Now)).ConfigureAwait(false);
            }
        }

        if (!allowed)
        {
            return new LimitResult(false, PolicyReasonCodes.RateLimited, $"Rate limit reached for '{request.Capability}'; retry after {retryAfter.TotalSeconds:0.#} s.");
        }

        if (!reserve || request.CostUsd == 0 || policy.Budget is not { } budget)
        {
            return LimitResult.Free;
        }

        await ReleaseExpiredAsync(c, tx, agentId, request.Time.ToUnixTimeMilliseconds()).ConfigureAwait(false);
        long period = PeriodOf(budget, request.Time);
        decimal spent = await SpentAsync(c, tx, agentId, period).ConfigureAwait(false);
        var check = policy.CheckBudget(spent, request.CostUsd);
        if (!check.Allowed)
        {
            return new LimitResult(false, check.ReasonCode ?? PolicyReasonCodes.BudgetExceeded, check.Reason ?? "The budget is exhausted.");
        }

        spent += request.CostUsd;
        await SetSpentAsync(c, tx, agentId, period, spent).ConfigureAwait(false);
        return new LimitResult(true, Reserved: true, SpentUsd: spent);
    }

    /// <summary>Gives back a reservation (a pending verification that was denied or expired).</summary>
    public static async Task ReleaseAsync(DbConnection c, DbTransaction tx, SqlDialect dialect, VerificationRow row)
    {
        if (!row.Reserved || row.BudgetPeriod is not { } period || row.CostUsd is null
            || !decimal.TryParse(row.CostUsd, NumberStyles.Number, CultureInfo.InvariantCulture, out var cost) || cost <= 0)
        {
            return;
        }

        if (dialect == SqlDialect.Postgres)
        {
            await c.ScalarAsync("SELECT id FROM agents WHERE id = @a FOR UPDATE", tx, ("@a", row.AgentId)).ConfigureAwait(false);
        }

        // Only the first release of a row gives anything back.
        if (await c.ExecAsync("UPDATE verifications SET reserved = 0 WHERE id = @i AND reserved = 1", tx, ("@i", row.Id)).ConfigureAwait(false) == 0)
        {
            return;
        }

        decimal spent = await SpentAsync(c, tx, row.AgentId, period).ConfigureAwait(false);
        await SetSpentAsync(c, tx, row.AgentId, period, Math.Max(0m, spent - cost)).ConfigureAwait(false);
    }

    /// <summary>Expires the agent's pending verifications whose approval window has passed, releasing what they reserved (the agent's row is already locked).</summary>
    public static async Task ReleaseExpiredAsync(DbConnection c, DbTransaction tx, string agentId, long nowMs)
    {
        var expired = await c.QueryAsync($"SELECT {ServerStore.VerificationColumns} FROM verifications WHERE agent_id = @a AND reserved = 1 AND status = 'pending' AND expires <= @t",
            tx, ServerStore.MapVerification, ("@a", agentId), ("@t", nowMs)).ConfigureAwait(false);
        foreach (var row in expired)
        {
            await c.ExecAsync("UPDATE verifications SET status = 'expired', reason_code = 'approval_timeout', reason = 'No approver answered in time.', decided = @t WHERE id = @i AND status = 'pending'",
                tx, ("@t", nowMs), ("@i", row.Id)).ConfigureAwait(false);
            await ReleaseAsync(c, tx, SqlDialect.Sqlite, row).ConfigureAwait(false); // Sqlite: no second lock, this transaction holds it
        }
    }

    /// <summary>The rule's identity in the events table: a changed limit or period counts afresh.</summary>
    public static string RuleKey(RateLimitRule rule) => string.Create(CultureInfo.InvariantCulture, $"{rule.Capability}|{rule.Limit}|{rule.Per.Ticks}");

    /// <summary>The budget period of an instant (0 for a lifetime budget), as <see cref="BudgetLedger"/> computes it.</summary>
    public static long PeriodOf(BudgetLimit budget, DateTimeOffset when) =>
        budget.Per is { } per ? (when.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / per.Ticks : 0;

    private static async Task<decimal> SpentAsync(DbConnection c, DbTransaction tx, string agentId, long period)
    {
        var text = (string?)await c.ScalarAsync("SELECT spent FROM budget_spend WHERE agent_id = @a AND period = @p", tx, ("@a", agentId), ("@p", period)).ConfigureAwait(false);
        return text is not null && decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var spent) ? spent : 0m;
    }

    private static Task<int> SetSpentAsync(DbConnection c, DbTransaction tx, string agentId, long period, decimal spent) =>
        c.ExecAsync("INSERT INTO budget_spend (agent_id, period, spent) VALUES (@a, @p, @s) ON CONFLICT (agent_id, period) DO UPDATE SET spent = excluded.spent", tx,
            ("@a", agentId), ("@p", period), ("@s", spent.ToString(CultureInfo.InvariantCulture)));
}
