using System.Data.Common;

namespace Aim.Server.Storage;

/// <summary>
/// Versioned schema migrations, run at start in order; each version is applied once (recorded in
/// <c>schema_migrations</c>). On PostgreSQL an advisory lock keeps two replicas starting together from
/// racing. Add a migration by appending to <see cref="All"/>; never edit an applied one.
/// </summary>
internal static class Migrations
{
    private const long PostgresLockId = 0x41494d5345525645; // "AIMSERVE"

    public static IReadOnlyList<(int Version, string Sql)> All { get; } =
    [
        (1, """
            CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created {int64} NOT NULL);
            CREATE TABLE api_keys (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL, role TEXT NOT NULL,
                hash {blob} NOT NULL, is_system {int64} NOT NULL, created {int64} NOT NULL, revoked {int64});
            CREATE TABLE agents (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL, status TEXT NOT NULL,
                description TEXT, isolation TEXT, created {int64} NOT NULL, updated {int64} NOT NULL, UNIQUE (org_id, name));
            CREATE TABLE agent_keys (key_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id), org_id TEXT NOT NULL,
                public_key {blob} NOT NULL, created {int64} NOT NULL, not_after {int64});
            CREATE INDEX agent_keys_agent ON agent_keys (agent_id);
            CREATE TABLE grants (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL REFERENCES agents(id), pattern TEXT NOT NULL,
                created {int64} NOT NULL, created_by TEXT NOT NULL, UNIQUE (agent_id, pattern));
            CREATE TABLE capability_requests (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL, capability TEXT NOT NULL,
                reason TEXT, status TEXT NOT NULL, created {int64} NOT NULL, decided_by TEXT, decided {int64}, decision_reason TEXT);
            CREATE TABLE verifications (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL, action_id TEXT NOT NULL,
                capability TEXT NOT NULL, resource TEXT, risk TEXT NOT NULL, method TEXT, status TEXT NOT NULL, reason_code TEXT, reason TEXT,
                decided_by TEXT, decision_reason TEXT, created {int64} NOT NULL, expires {int64} NOT NULL, decided {int64},
                outcome TEXT, outcome_at {int64});
            CREATE INDEX verifications_org_status ON verifications (org_id, status);
            CREATE INDEX verifications_agent ON verifications (agent_id, created);
            CREATE TABLE nonces (key_id TEXT NOT NULL, nonce TEXT NOT NULL, expires {int64} NOT NULL, PRIMARY KEY (key_id, nonce));
            CREATE TABLE audit_heads (org_id TEXT PRIMARY KEY, size {int64} NOT NULL);
            CREATE TABLE audit_entries (org_id TEXT NOT NULL, idx {int64} NOT NULL, time {int64} NOT NULL, agent_id TEXT, kind TEXT NOT NULL,
                capability TEXT, decision TEXT, action_id TEXT, body {blob} NOT NULL, leaf {blob} NOT NULL, PRIMARY KEY (org_id, idx));
            CREATE TABLE trust_scores (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL, score {double} NOT NULL,
                factors TEXT NOT NULL, computed {int64} NOT NULL);
            CREATE INDEX trust_scores_agent ON trust_scores (agent_id, computed);
            CREATE TABLE feedback (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL, rating {int64} NOT NULL, comment TEXT,
                created {int64} NOT NULL);
            CREATE TABLE security_events (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, agent_id TEXT NOT NULL, code TEXT NOT NULL, created {int64} NOT NULL);
            CREATE TABLE mcp_servers (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL, url TEXT NOT NULL, public_key {blob} NOT NULL,
                challenge {blob} NOT NULL, attested {int64}, created {int64} NOT NULL, UNIQUE (org_id, name));
            """),
        // Verifications cache agents, keys and grants; every write that changes them bumps this one counter in the same
        // transaction, and a cached decision commits only if the counter is unchanged (exact across replicas).
        // Nonces are pruned by expiry, which needs an index to stay cheap under load.
        (2, """
            CREATE TABLE agent_generation (id {int64} PRIMARY KEY, value {int64} NOT NULL);
            INSERT INTO agent_generation (id, value) VALUES (1, 0);
            CREATE INDEX nonces_expires ON nonces (expires);
            """),
        // The one pipeline on the server: each agent's policy beyond grants (attributes, time windows, rate limits, budget) as
        // a policy-file entry; rate-limit events and budget spending shared by every replica; the organization's trusted
        // roots for delegation chains; and what a verification decided with (step, cost reserved, details, evidence).
        (3, """
            CREATE TABLE agent_policies (agent_id TEXT PRIMARY KEY REFERENCES agents(id), org_id TEXT NOT NULL, document TEXT NOT NULL,
                updated {int64} NOT NULL, updated_by TEXT NOT NULL);
            CREATE TABLE rate_events (agent_id TEXT NOT NULL, rule TEXT NOT NULL, at {int64} NOT NULL);
            CREATE INDEX rate_events_window ON rate_events (agent_id, rule, at);
            CREATE TABLE budget_spend (agent_id TEXT NOT NULL, period {int64} NOT NULL, spent TEXT NOT NULL, PRIMARY KEY (agent_id, period));
            CREATE TABLE trusted_roots (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, identifier TEXT NOT NULL, public_key {blob} NOT NULL,
                label TEXT, created {int64} NOT NULL, created_by TEXT NOT NULL, UNIQUE (org_id, identifier));
            ALTER TABLE verifications ADD COLUMN step TEXT;
            ALTER TABLE verifications ADD COLUMN cost_usd TEXT;
            ALTER TABLE verifications ADD COLUMN reserved {int64} NOT NULL DEFAULT 0;
            ALTER TABLE verifications ADD COLUMN budget_period {int64};
            ALTER TABLE verifications ADD COLUMN details TEXT;
            ALTER TABLE verifications ADD COLUMN evidence TEXT;
            CREATE INDEX verifications_reserved ON verifications (agent_id, reserved, status)
            """),
        // AIM wire compatibility (src/Aim.Server/Compat): the per-organization switch (off unless a row says on), which
        // agents came through AIM's SDKs (the dashboard marks them) and the MCP servers those agents reported.
        (40, """
            CREATE TABLE compat_orgs (org_id TEXT PRIMARY KEY REFERENCES orgs(id), enabled {int64} NOT NULL, server_keys {int64} NOT NULL,
                updated {int64} NOT NULL, updated_by TEXT NOT NULL);
            CREATE TABLE compat_agents (agent_id TEXT PRIMARY KEY REFERENCES agents(id), org_id TEXT NOT NULL, sdk TEXT NOT NULL, sdk_version TEXT,
                key_custody TEXT NOT NULL, display_name TEXT, agent_type TEXT, version TEXT, repository_url TEXT, documentation_url TEXT,
                created {int64} NOT NULL, updated {int64} NOT NULL);
            CREATE TABLE compat_mcp (agent_id TEXT NOT NULL REFERENCES agents(id), org_id TEXT NOT NULL, name TEXT NOT NULL, method TEXT NOT NULL,
                confidence {double}, sdk_version TEXT, first_seen {int64} NOT NULL, last_seen {int64} NOT NULL, PRIMARY KEY (agent_id, name))
            """),
        // Step 3's rate limits keep each window's event count beside its events: counting the window per verification
        // walked up to `limit` index entries on the single writer (a 5,000-call limit cost ~0.1 ms per decision).
        (50, """
            CREATE TABLE rate_counts (agent_id TEXT NOT NULL, rule TEXT NOT NULL, events {int64} NOT NULL, PRIMARY KEY (agent_id, rule));
            INSERT INTO rate_counts (agent_id, rule, events) SELECT agent_id, rule, COUNT(*) FROM rate_events GROUP BY agent_id, rule
            """),
    ];

    /// <summary>
    /// Migrations whose SQL differs by engine (triggers), each run as one script: numbered from 20 so they never collide
    /// with <see cref="All"/>. Applied in version order together with <see cref="All"/>.
    /// </summary>
    public static IReadOnlyList<(int Version, string Sqlite, string Postgres)> ByDialect { get; } =
    [
        // The audit log's signed head is stored with every append (root, frontier, time, signature), with the subtree
        // hashes proofs need. Decisions are append-only: once a verification or capability request is decided, neither
        // its decision nor its row can change or go (the API answers 409 already_decided before it gets here).
        (20, """
            ALTER TABLE audit_heads ADD COLUMN root BLOB;
            ALTER TABLE audit_heads ADD COLUMN frontier BLOB;
            ALTER TABLE audit_heads ADD COLUMN head_time INTEGER;
            ALTER TABLE audit_heads ADD COLUMN head_sig BLOB;
            CREATE TABLE audit_nodes (org_id TEXT NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (org_id, level, idx));
            CREATE TRIGGER verifications_decision_final BEFORE UPDATE ON verifications
              WHEN OLD.status <> 'pending' AND (NEW.status IS NOT OLD.status OR NEW.reason_code IS NOT OLD.reason_code OR NEW.reason IS NOT OLD.reason
                OR NEW.decided_by IS NOT OLD.decided_by OR NEW.decision_reason IS NOT OLD.decision_reason OR NEW.decided IS NOT OLD.decided)
              BEGIN SELECT RAISE(ABORT, 'aim_decision_final'); END;
            CREATE TRIGGER verifications_decision_kept BEFORE DELETE ON verifications WHEN OLD.status <> 'pending'
              BEGIN SELECT RAISE(ABORT, 'aim_decision_final'); END;
            CREATE TRIGGER capability_requests_decision_final BEFORE UPDATE ON capability_requests
              WHEN OLD.status <> 'pending' AND (NEW.status IS NOT OLD.status OR NEW.decided_by IS NOT OLD.decided_by
                OR NEW.decision_reason IS NOT OLD.decision_reason OR NEW.decided IS NOT OLD.decided)
              BEGIN SELECT RAISE(ABORT, 'aim_decision_final'); END;
            CREATE TRIGGER capability_requests_decision_kept BEFORE DELETE ON capability_requests WHEN OLD.status <> 'pending'
              BEGIN SELECT RAISE(ABORT, 'aim_decision_final'); END;
            """,
         """
            ALTER TABLE audit_heads ADD COLUMN root BYTEA;
            ALTER TABLE audit_heads ADD COLUMN frontier BYTEA;
            ALTER TABLE audit_heads ADD COLUMN head_time BIGINT;
            ALTER TABLE audit_heads ADD COLUMN head_sig BYTEA;
            CREATE TABLE audit_nodes (org_id TEXT NOT NULL, level BIGINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (org_id, level, idx));
            CREATE FUNCTION aim_verification_decision_final() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF OLD.status <> 'pending' AND (TG_OP = 'DELETE' OR NEW.status IS DISTINCT FROM OLD.status OR NEW.reason_code IS DISTINCT FROM OLD.reason_code
                  OR NEW.reason IS DISTINCT FROM OLD.reason OR NEW.decided_by IS DISTINCT FROM OLD.decided_by
                  OR NEW.decision_reason IS DISTINCT FROM OLD.decision_reason OR NEW.decided IS DISTINCT FROM OLD.decided) THEN
                RAISE EXCEPTION 'aim_decision_final';
              END IF;
              IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER verifications_decision_final BEFORE UPDATE OR DELETE ON verifications FOR EACH ROW EXECUTE FUNCTION aim_verification_decision_final();
            CREATE FUNCTION aim_request_decision_final() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF OLD.status <> 'pending' AND (TG_OP = 'DELETE' OR NEW.status IS DISTINCT FROM OLD.status OR NEW.decided_by IS DISTINCT FROM OLD.decided_by
                  OR NEW.decision_reason IS DISTINCT FROM OLD.decision_reason OR NEW.decided IS DISTINCT FROM OLD.decided) THEN
                RAISE EXCEPTION 'aim_decision_final';
              END IF;
              IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER capability_requests_decision_final BEFORE UPDATE OR DELETE ON capability_requests FOR EACH ROW EXECUTE FUNCTION aim_request_decision_final();
            """),
    ];

    public static async Task ApplyAsync(Database db, TimeProvider time, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct).ConfigureAwait(false);
        if (db.Dialect == SqlDialect.Postgres)
        {
            await connection.ExecAsync($"SELECT pg_advisory_lock({PostgresLockId})", null).ConfigureAwait(false);
        }

        else
        {
            await connection.ExecAsync("PRAGMA journal_mode=WAL", null).ConfigureAwait(false);
        }

        try
        {
            await connection.ExecAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)", null).ConfigureAwait(false);
            var applied = await connection.QueryAsync("SELECT version FROM schema_migrations", null, r => r.GetInt64(0)).ConfigureAwait(false);
            var steps = All.Select(m => (m.Version, Statements: Translate(m.Sql, db.Dialect).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
                .Concat(ByDialect.Select(m => (m.Version, Statements: new[] { db.Dialect == SqlDialect.Postgres ? m.Postgres : m.Sqlite })))
                .OrderBy(m => m.Version);
            foreach (var (version, statements) in steps)
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                foreach (var statement in statements)
                {
                    await connection.ExecAsync(statement, tx).ConfigureAwait(false);
                }

                await connection.ExecAsync("INSERT INTO schema_migrations (version, applied) VALUES (@v, @t)", tx,
                    ("@v", (long)version), ("@t", time.GetUtcNow().ToUnixTimeMilliseconds())).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            if (db.Dialect == SqlDialect.Postgres)
            {
                await connection.ExecAsync($"SELECT pg_advisory_unlock({PostgresLockId})", null).ConfigureAwait(false);
            }
        }
    }

    public static int LatestVersion => Math.Max(All[^1].Version, ByDialect[^1].Version);

    private static string Translate(string sql, SqlDialect dialect) => dialect == SqlDialect.Postgres
        ? sql.Replace("{int64}", "BIGINT", StringComparison.Ordinal).Replace("{blob}", "BYTEA", StringComparison.Ordinal).Replace("{double}", "DOUBLE PRECISION", StringComparison.Ordinal)
        : sql.Replace("{int64}", "INTEGER", StringComparison.Ordinal).Replace("{blob}", "BLOB", StringComparison.Ordinal).Replace("{double}", "REAL", StringComparison.Ordinal);
}
