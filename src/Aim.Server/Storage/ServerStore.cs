using System.Data.Common;

namespace Aim.Server.Storage;

/// <summary>
/// The server's data access. Every query that touches tenant data filters by <c>org_id</c>: a caller from
/// one organization can never read or change another's rows, whatever ids it sends.
/// </summary>
internal sealed class ServerStore(Database db, TimeProvider time)
{
    public Database Db { get; } = db;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public static string NewId() => Guid.CreateVersion7().ToString("N");

    // ---- organizations and API keys ----

    public Task<bool> AnyApiKeyAsync() => Db.ReadAsync(async c => await c.ScalarAsync("SELECT 1 FROM api_keys LIMIT 1", null).ConfigureAwait(false) is not null);

    public Task<OrgRow?> FindOrgByNameAsync(string name) =>
        Db.ReadAsync(c => c.SingleAsync("SELECT id, name, created FROM orgs WHERE name = @n", null, MapOrg, ("@n", name)));

    public Task<OrgRow> CreateOrgAsync(string name) => Db.WriteAsync((c, tx) => CreateOrgAsync(c, tx, name));

    public async Task<OrgRow> CreateOrgAsync(DbConnection c, DbTransaction tx, string name)
    {
        var org = new OrgRow(NewId(), name, Now);
        int n = await c.ExecAsync("INSERT INTO orgs (id, name, created) VALUES (@i, @n, @t) ON CONFLICT DO NOTHING", tx, ("@i", org.Id), ("@n", name), ("@t", org.Created)).ConfigureAwait(false);
        if (n == 0)
        {
            throw ApiException.Conflict("org_exists", $"An organization named '{name}' exists.");
        }

        return org;
    }

    /// <summary>
    /// Recovery: when the organization has no active bootstrap key (one revoked before revocation was refused), installs
    /// <paramref name="keyHash"/> (from <c>AIM_ADMIN_KEY</c>) as its bootstrap key. False when an active one exists.
    /// </summary>
    public Task<bool> RestoreBootstrapAsync(string orgName, byte[] keyHash) => Db.WriteAsync(async (c, tx) =>
    {
        var org = await c.SingleAsync("SELECT id, name, created FROM orgs WHERE name = @n", tx, MapOrg, ("@n", orgName)).ConfigureAwait(false);
        if (org is null || await c.ScalarAsync("SELECT 1 FROM api_keys WHERE org_id = @o AND is_system = 1 AND revoked IS NULL", tx, ("@o", org.Id)).ConfigureAwait(false) is not null)
        {
            return false;
        }

        string id = Security.ApiKeys.IdOf(keyHash);
        // The same key revoked earlier comes back (its row is reused); another key gets a new row.
        int changed = await c.ExecAsync("UPDATE api_keys SET revoked = NULL, role = 'admin', is_system = 1 WHERE id = @i AND org_id = @o AND hash = @h", tx, ("@i", id), ("@o", org.Id), ("@h", keyHash)).ConfigureAwait(false);
        if (changed == 0)
        {
            changed = await c.ExecAsync("INSERT INTO api_keys (id, org_id, name, role, hash, is_system, created) VALUES (@i, @o, 'bootstrap', 'admin', @h, 1, @t) ON CONFLICT DO NOTHING", tx,
                ("@i", id), ("@o", org.Id), ("@h", keyHash), ("@t", Now)).ConfigureAwait(false);
        }

        return changed == 1;
    });

    /// <summary>Creates the first organization and its bootstrap key unless some key exists (safe when replicas start together).</summary>
    public Task<bool> BootstrapAsync(string orgName, byte[] keyHash) => Db.WriteAsync(async (c, tx) =>
    {
        if (await c.ScalarAsync("SELECT 1 FROM api_keys LIMIT 1", tx).ConfigureAwait(false) is not null)
        {
            return false;
        }

        string orgId = NewId();
        if (await c.ExecAsync("INSERT INTO orgs (id, name, created) VALUES (@i, @n, @t) ON CONFLICT DO NOTHING", tx, ("@i", orgId), ("@n", orgName), ("@t", Now)).ConfigureAwait(false) == 0)
        {
            return false;
        }

        int inserted = await c.ExecAsync("INSERT INTO api_keys (id, org_id, name, role, hash, is_system, created) VALUES (@i, @o, 'bootstrap', 'admin', @h, 1, @t) ON CONFLICT DO NOTHING", tx,
            ("@i", Security.ApiKeys.IdOf(keyHash)), ("@o", orgId), ("@h", keyHash), ("@t", Now)).ConfigureAwait(false);
        return inserted == 1;
    });

    public Task<ApiKeyRow> CreateApiKeyAsync(string orgId, string name, string role, byte[] hash) => Db.WriteAsync((c, tx) => CreateApiKeyAsync(c, tx, orgId, name, role, hash));

    public async Task<ApiKeyRow> CreateApiKeyAsync(DbConnection c, DbTransaction tx, string orgId, string name, string role, byte[] hash)
    {
        var row = new ApiKeyRow(Security.ApiKeys.IdOf(hash), orgId, name, role, hash, false, Now, null);
        await c.ExecAsync("INSERT INTO api_keys (id, org_id, name, role, hash, is_system, created) VALUES (@i, @o, @n, @r, @h, 0, @t)", tx,
            ("@i", row.Id), ("@o", orgId), ("@n", name), ("@r", role), ("@h", hash), ("@t", row.Created)).ConfigureAwait(false);
        return row;
    }

    public Task<ApiKeyRow?> FindApiKeyAsync(string id) =>
        Db.ReadAsync(c => c.SingleAsync("SELECT id, org_id, name, role, hash, is_system, created, revoked FROM api_keys WHERE id = @i", null, MapApiKey, ("@i", id)));

    public Task<List<ApiKeyRow>> ListApiKeysAsync(string orgId) =>
        Db.ReadAsync(c => c.QueryAsync("SELECT id, org_id, name, role, hash, is_system, created, revoked FROM api_keys WHERE org_id = @o ORDER BY created", null, MapApiKey, ("@o", orgId)));

    /// <summary>Revokes an active key of the organization; false when there is none with that id.</summary>
    /// <exception cref="ApiException">409 <c>bootstrap_key_protected</c>: the bootstrap admin key is never revoked (it is the way back in).</exception>
    public async Task<bool> RevokeApiKeyAsync(DbConnection c, DbTransaction tx, string orgId, string id)
    {
        var key = await c.SingleAsync("SELECT id, org_id, name, role, hash, is_system, created, revoked FROM api_keys WHERE id = @i AND org_id = @o", tx, MapApiKey, ("@i", id), ("@o", orgId)).ConfigureAwait(false);
        if (key is null || key.Revoked is not null)
        {
            return false;
        }

        if (key.IsSystem)
        {
            throw ApiException.Conflict("bootstrap_key_protected", "The bootstrap admin key cannot be revoked; replace it with AIM_ADMIN_KEY instead.");
        }

        return await c.ExecAsync("UPDATE api_keys SET revoked = @t WHERE id = @i AND org_id = @o AND revoked IS NULL AND is_system = 0", tx, ("@t", Now), ("@i", id), ("@o", orgId)).ConfigureAwait(false) == 1;
    }

    // ---- agents ----

    private const string AgentColumns = "id, org_id, name, status, description, isolation, created, updated";

    public Task<AgentRow?> FindAgentAsync(string orgId, string idOrName) =>
        Db.ReadAsync(c => c.SingleAsync($"SELECT {AgentColumns} FROM agents WHERE org_id = @o AND (id = @x OR name = @x) ORDER BY CASE WHEN id = @x THEN 0 ELSE 1 END LIMIT 1", null, MapAgent, ("@o", orgId), ("@x", idOrName)));

    public Task<List<AgentRow>> ListAgentsAsync(string orgId, string? status) =>
        Db.ReadAsync(c => c.QueryAsync($"SELECT {AgentColumns} FROM agents WHERE org_id = @o AND (@s IS NULL OR status = @s) ORDER BY name", null, MapAgent, ("@o", orgId), ("@s", status)));

    /// <summary>Registers an agent with its first key; returns the existing agent when the same name and key are registered already.</summary>
    public async Task<(AgentRow Agent, bool Created)> RegisterAgentAsync(DbConnection c, DbTransaction tx, string orgId, string name, string keyId, byte[] publicKey, string? description, string? isolation)
    {
        var existing = await c.SingleAsync($"SELECT {AgentColumns} FROM agents WHERE org_id = @o AND name = @n", tx, MapAgent, ("@o", orgId), ("@n", name)).ConfigureAwait(false);
        var key = await c.SingleAsync("SELECT key_id, agent_id, org_id, public_key, created, not_after FROM agent_keys WHERE key_id = @k", tx, MapKey, ("@k", keyId)).ConfigureAwait(false);
        if (existing is not null)
        {
            if (key is not null && key.AgentId == existing.Id)
            {
                return (existing, false);
            }

            throw ApiException.Conflict("agent_exists", $"An agent named '{name}' is registered with another key.");
        }

        if (key is not null)
        {
            throw ApiException.Conflict("key_in_use", "This key is registered to another agent.");
        }

        long now = Now;
        var agent = new AgentRow(NewId(), orgId, name, AgentStatus.Active, description, isolation, now, now);
        await c.ExecAsync("INSERT INTO agents (id, org_id, name, status, description, isolation, created, updated) VALUES (@i, @o, @n, @s, @d, @iso, @t, @t)", tx,
            ("@i", agent.Id), ("@o", orgId), ("@n", name), ("@s", agent.Status), ("@d", description), ("@iso", isolation), ("@t", now)).ConfigureAwait(false);
        await c.ExecAsync("INSERT INTO agent_keys (key_id, agent_id, org_id, public_key, created) VALUES (@k, @a, @o, @p, @t)", tx,
            ("@k", keyId), ("@a", agent.Id), ("@o", orgId), ("@p", publicKey), ("@t", now)).ConfigureAwait(false);
        await AgentsChangedAsync(c, tx).ConfigureAwait(false);
        return (agent, true);
    }

    public async Task<AgentRow?> UpdateAgentAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string? description, string? isolation)
    {
        await c.ExecAsync("UPDATE agents SET description = COALESCE(@d, description), isolation = COALESCE(@iso, isolation), updated = @t WHERE id = @i AND org_id = @o", tx,
            ("@d", description), ("@iso", isolation), ("@t", Now), ("@i", agentId), ("@o", orgId)).ConfigureAwait(false);
        await AgentsChangedAsync(c, tx).ConfigureAwait(false);
        return await c.SingleAsync($"SELECT {AgentColumns} FROM agents WHERE id = @i AND org_id = @o", tx, MapAgent, ("@i", agentId), ("@o", orgId)).ConfigureAwait(false);
    }

    /// <summary>Changes an agent's status; a revoked agent never changes again.</summary>
    public Task<bool> SetAgentStatusAsync(string orgId, string agentId, string status) => Db.WriteAsync((c, tx) => SetAgentStatusAsync(c, tx, orgId, agentId, status));

    public async Task<bool> SetAgentStatusAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string status)
    {
        bool changed = await c.ExecAsync("UPDATE agents SET status = @s, updated = @t WHERE id = @i AND org_id = @o AND status <> 'revoked'", tx,
            ("@s", status), ("@t", Now), ("@i", agentId), ("@o", orgId)).ConfigureAwait(false) == 1;
        await AgentsChangedAsync(c, tx).ConfigureAwait(false);
        return changed;
    }

    public Task<(AgentRow Agent, AgentKeyRow Key)?> FindAgentByKeyAsync(string keyId) => Db.ReadAsync(async c =>
    {
        var rows = await c.QueryAsync(
            "SELECT k.key_id, k.agent_id, k.org_id, k.public_key, k.created, k.not_after, a.id, a.org_id, a.name, a.status, a.description, a.isolation, a.created, a.updated " +
            "FROM agent_keys k JOIN agents a ON a.id = k.agent_id WHERE k.key_id = @k", null,
            r => (new AgentRow(r.GetString(6), r.GetString(7), r.GetString(8), r.GetString(9), r.NullableString(10), r.NullableString(11), r.GetInt64(12), r.GetInt64(13)), MapKey(r)),
            ("@k", keyId)).ConfigureAwait(false);
        return rows.Count == 0 ? ((AgentRow, AgentKeyRow)?)null : rows[0];
    });

    public Task<List<AgentKeyRow>> ListKeysAsync(string orgId, string agentId) =>
        Db.ReadAsync(c => c.QueryAsync("SELECT key_id, agent_id, org_id, public_key, created, not_after FROM agent_keys WHERE agent_id = @a AND org_id = @o ORDER BY created", null, MapKey, ("@a", agentId), ("@o", orgId)));

    /// <summary>Adds a new key and limits every older key of the agent to <paramref name="oldKeysUntil"/>.</summary>
    public async Task RotateKeyAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string newKeyId, byte[] publicKey, long oldKeysUntil)
    {
        if (await c.ScalarAsync("SELECT 1 FROM agent_keys WHERE key_id = @k", tx, ("@k", newKeyId)).ConfigureAwait(false) is not null)
        {
            throw ApiException.Conflict("key_in_use", "The new key is registered already.");
        }

        await c.ExecAsync("UPDATE agent_keys SET not_after = @u WHERE agent_id = @a AND org_id = @o AND (not_after IS NULL OR not_after > @u)", tx,
            ("@u", oldKeysUntil), ("@a", agentId), ("@o", orgId)).ConfigureAwait(false);
        await c.ExecAsync("INSERT INTO agent_keys (key_id, agent_id, org_id, public_key, created) VALUES (@k, @a, @o, @p, @t)", tx,
            ("@k", newKeyId), ("@a", agentId), ("@o", orgId), ("@p", publicKey), ("@t", Now)).ConfigureAwait(false);
        await AgentsChangedAsync(c, tx).ConfigureAwait(false);
    }

    // ---- grants and capability requests ----

    public Task<List<GrantRow>> ListGrantsAsync(string orgId, string agentId) =>
        Db.ReadAsync(c => c.QueryAsync("SELECT id, agent_id, pattern, created, created_by FROM grants WHERE agent_id = @a AND org_id = @o ORDER BY pattern", null,
            r => new GrantRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetString(4)), ("@a", agentId), ("@o", orgId)));

    public Task AddGrantsAsync(string orgId, string agentId, IEnumerable<string> patterns, string by) => Db.WriteAsync((c, tx) => AddGrantsAsync(c, tx, orgId, agentId, patterns, by));

    public async Task AddGrantsAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, IEnumerable<string> patterns, string by)
    {
        foreach (var pattern in patterns)
        {
            await c.ExecAsync("INSERT INTO grants (id, org_id, agent_id, pattern, created, created_by) VALUES (@i, @o, @a, @p, @t, @b) ON CONFLICT DO NOTHING", tx,
                ("@i", NewId()), ("@o", orgId), ("@a", agentId), ("@p", pattern), ("@t", Now), ("@b", by)).ConfigureAwait(false);
        }

        await AgentsChangedAsync(c, tx).ConfigureAwait(false);
    }

    public async Task<int> RemoveGrantAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string pattern)
    {
        int removed = await c.ExecAsync("DELETE FROM grants WHERE agent_id = @a AND org_id = @o AND pattern = @p", tx, ("@a", agentId), ("@o", orgId), ("@p", pattern)).ConfigureAwait(false);
        await AgentsChangedAsync(c, tx).ConfigureAwait(false);
        return removed;
    }

    private const string RequestColumns = "id, org_id, agent_id, capability, reason, status, created, decided_by, decided, decision_reason";

    public async Task<CapabilityRequestRow> CreateCapabilityRequestAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string capability, string? reason)
    {
        var row = new CapabilityRequestRow(NewId(), orgId, agentId, capability, reason, DecisionStatus.Pending, Now, null, null, null);
        await c.ExecAsync("INSERT INTO capability_requests (id, org_id, agent_id, capability, reason, status, created) VALUES (@i, @o, @a, @c, @r, @s, @t)", tx,
            ("@i", row.Id), ("@o", orgId), ("@a", agentId), ("@c", capability), ("@r", reason), ("@s", row.Status), ("@t", row.Created)).ConfigureAwait(false);
        return row;
    }

    public Task<List<CapabilityRequestRow>> ListCapabilityRequestsAsync(string orgId, string? status) =>
        Db.ReadAsync(c => c.QueryAsync($"SELECT {RequestColumns} FROM capability_requests WHERE org_id = @o AND (@s IS NULL OR status = @s) ORDER BY created", null, MapRequest, ("@o", orgId), ("@s", status)));

    /// <summary>Decides a pending capability request once; approving adds the grant in the same transaction.</summary>
    /// <exception cref="ApiException">409 <c>already_decided</c>: it was decided before (by anyone, with any reason).</exception>
    public async Task<CapabilityRequestRow?> DecideCapabilityRequestAsync(DbConnection c, DbTransaction tx, string orgId, string id, bool approve, string by, string? reason)
    {
        var row = await c.SingleAsync($"SELECT {RequestColumns} FROM capability_requests WHERE id = @i AND org_id = @o", tx, MapRequest, ("@i", id), ("@o", orgId)).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        if (row.Status != DecisionStatus.Pending)
        {
            throw ApiException.Conflict("already_decided", $"The request is {row.Status} already.");
        }

        string status = approve ? DecisionStatus.Approved : DecisionStatus.Rejected;
        long now = Now;
        // Conditional on 'pending' in the statement itself: two concurrent decisions cannot both pass the check above.
        if (await c.ExecAsync("UPDATE capability_requests SET status = @s, decided_by = @b, decided = @t, decision_reason = @r WHERE id = @i AND org_id = @o AND status = 'pending'", tx,
            ("@s", status), ("@b", by), ("@t", now), ("@r", reason), ("@i", id), ("@o", orgId)).ConfigureAwait(false) != 1)
        {
            throw ApiException.Conflict("already_decided", "The request was decided already.");
        }

        if (approve)
        {
            await c.ExecAsync("INSERT INTO grants (id, org_id, agent_id, pattern, created, created_by) VALUES (@i, @o, @a, @p, @t, @b) ON CONFLICT DO NOTHING", tx,
                ("@i", NewId()), ("@o", orgId), ("@a", row.AgentId), ("@p", row.Capability), ("@t", now), ("@b", by)).ConfigureAwait(false);
            await AgentsChangedAsync(c, tx).ConfigureAwait(false);
        }

        return row with { Status = status, DecidedBy = by, Decided = now, DecisionReason = reason };
    }

    // ---- verifications ----

    internal const string VerificationColumns = "id, org_id, agent_id, action_id, capability, resource, risk, method, status, reason_code, reason, decided_by, decision_reason, created, expires, decided, outcome, outcome_at, step, cost_usd, reserved, budget_period, details, evidence";

    /// <summary>
    /// Stores the request's nonce and the verification in one transaction, but only if no agent, key or grant changed since
    /// <paramref name="agentGeneration"/> was read (the decision was made on current data); nothing is stored otherwise.
    /// </summary>
    public Task<VerificationWrite> InsertVerificationAsync(VerificationRow v, (string KeyId, string Nonce, long Expires) nonce, long agentGeneration) => Db.WriteAsync(async (c, tx) =>
    {
        if (await CurrentAgentGenerationAsync(c, tx).ConfigureAwait(false) != agentGeneration)
        {
            return VerificationWrite.AgentChanged;
        }

        await PruneNoncesAsync(c, tx).ConfigureAwait(false);
        if (await c.ExecAsync("INSERT INTO nonces (key_id, nonce, expires) VALUES (@k, @n, @e) ON CONFLICT DO NOTHING", tx,
                ("@k", nonce.KeyId), ("@n", nonce.Nonce), ("@e", nonce.Expires)).ConfigureAwait(false) == 0)
        {
            return VerificationWrite.NonceReplayed;
        }

        await InsertVerificationAsync(c, tx, v).ConfigureAwait(false);
        return VerificationWrite.Stored;
    });

    // ---- agent generation (what cached agent data is checked against) ----

    /// <summary>The counter every write to agents, keys or grants bumps; read it before reading the data it guards.</summary>
    public Task<long> AgentGenerationAsync() => Db.ReadAsync(c => CurrentAgentGenerationAsync(c, null));

    internal static async Task<long> CurrentAgentGenerationAsync(DbConnection c, DbTransaction? tx) =>
        Convert.ToInt64(await c.ScalarAsync("SELECT value FROM agent_generation WHERE id = 1", tx).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);

    // In the writer's transaction, so a cached decision racing with this change fails its generation check and is remade.
    internal static Task<int> AgentsChangedAsync(DbConnection c, DbTransaction tx) =>
        c.ExecAsync("UPDATE agent_generation SET value = value + 1 WHERE id = 1", tx);

    private long _nextNoncePrune;

    // Expired nonces go at most once a second (an indexed range delete), not on a random request: a table scan under the
    // writer would stall every request queued behind it.
    internal async Task PruneNoncesAsync(DbConnection c, DbTransaction tx)
    {
        long now = Now;
        long due = Volatile.Read(ref _nextNoncePrune);
        if (now >= due && Interlocked.CompareExchange(ref _nextNoncePrune, now + 1000, due) == due)
        {
            await c.ExecAsync("DELETE FROM nonces WHERE expires < @t", tx, ("@t", now)).ConfigureAwait(false);
        }
    }

    internal static Task<int> InsertVerificationAsync(DbConnection c, DbTransaction tx, VerificationRow v) =>
        c.ExecAsync("INSERT INTO verifications (id, org_id, agent_id, action_id, capability, resource, risk, method, status, reason_code, reason, created, expires, decided, " +
            "step, cost_usd, reserved, budget_period, details, evidence) " +
            "VALUES (@i, @o, @a, @ac, @c, @r, @rk, @m, @s, @rc, @re, @t, @e, @d, @st, @cu, @rs, @rt, @dt, @ev)", tx,
            ("@i", v.Id), ("@o", v.OrgId), ("@a", v.AgentId), ("@ac", v.ActionId), ("@c", v.Capability), ("@r", v.Resource), ("@rk", v.Risk), ("@m", v.Method),
            ("@s", v.Status), ("@rc", v.ReasonCode), ("@re", v.Reason), ("@t", v.Created), ("@e", v.Expires), ("@d", Sql.Long(v.Decided)),
            ("@st", v.Step), ("@cu", v.CostUsd), ("@rs", v.Reserved ? 1L : 0L), ("@rt", Sql.Long(v.BudgetPeriod)), ("@dt", v.Details), ("@ev", v.Evidence));

    public Task<VerificationRow?> FindVerificationAsync(string orgId, string id) =>
        Db.ReadAsync(c => c.SingleAsync($"SELECT {VerificationColumns} FROM verifications WHERE id = @i AND org_id = @o", null, MapVerification, ("@i", id), ("@o", orgId)));

    public Task<List<VerificationRow>> ListVerificationsAsync(string orgId, string? status, int limit) =>
        Db.ReadAsync(c => c.QueryAsync($"SELECT {VerificationColumns} FROM verifications WHERE org_id = @o AND (@s IS NULL OR status = @s) ORDER BY created DESC LIMIT @l", null, MapVerification,
            ("@o", orgId), ("@s", status), ("@l", (long)limit)));

    public Task<List<VerificationRow>> ListAgentVerificationsAsync(string orgId, string agentId, long since) =>
        Db.ReadAsync(c => c.QueryAsync($"SELECT {VerificationColumns} FROM verifications WHERE org_id = @o AND agent_id = @a AND created >= @t", null, MapVerification,
            ("@o", orgId), ("@a", agentId), ("@t", since)));

    /// <summary>
    /// Decides a pending, unexpired verification, once: the decided row, or null when this call decided nothing (it was
    /// decided before, by anyone, or expired). A decision is never changed afterwards.
    /// </summary>
    public async Task<VerificationRow?> DecideVerificationAsync(DbConnection c, DbTransaction tx, string orgId, string id, string status, string? reasonCode, string? reason, string by, string? decisionReason)
    {
        long now = Now;
        if (await c.ExecAsync("UPDATE verifications SET status = @s, reason_code = @rc, reason = @r, decided_by = @b, decision_reason = @dr, decided = @t " +
            "WHERE id = @i AND org_id = @o AND status = 'pending' AND expires > @t", tx,
            ("@s", status), ("@rc", reasonCode), ("@r", reason), ("@b", by), ("@dr", decisionReason), ("@t", now), ("@i", id), ("@o", orgId)).ConfigureAwait(false) != 1)
        {
            return null;
        }

        return await c.SingleAsync($"SELECT {VerificationColumns} FROM verifications WHERE id = @i AND org_id = @o", tx, MapVerification, ("@i", id), ("@o", orgId)).ConfigureAwait(false);
    }

    public async Task<bool> RecordOutcomeAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string id, string outcome) =>
        await c.ExecAsync("UPDATE verifications SET outcome = @oc, outcome_at = @t WHERE id = @i AND org_id = @o AND agent_id = @a AND status = 'approved' AND outcome IS NULL", tx,
            ("@oc", outcome), ("@t", Now), ("@i", id), ("@o", orgId), ("@a", agentId)).ConfigureAwait(false) == 1;

    // ---- nonces, security events, feedback, trust history ----

    /// <summary>Stores a nonce; false when it was seen before (a replay). Expired nonces are pruned now and then.</summary>
    public Task<bool> TryUseNonceAsync(string keyId, string nonce, long expires) => Db.WriteAsync(async (c, tx) =>
    {
        await PruneNoncesAsync(c, tx).ConfigureAwait(false);
        return await c.ExecAsync("INSERT INTO nonces (key_id, nonce, expires) VALUES (@k, @n, @e) ON CONFLICT DO NOTHING", tx, ("@k", keyId), ("@n", nonce), ("@e", expires)).ConfigureAwait(false) == 1;
    });

    public Task AddSecurityEventAsync(string orgId, string agentId, string code) => Db.WriteAsync((c, tx) =>
        c.ExecAsync("INSERT INTO security_events (id, org_id, agent_id, code, created) VALUES (@i, @o, @a, @c, @t)", tx,
            ("@i", NewId()), ("@o", orgId), ("@a", agentId), ("@c", code), ("@t", Now)));

    public Task<long> CountSecurityEventsAsync(string orgId, string agentId, long since) => Db.ReadAsync(async c =>
        Convert.ToInt64(await c.ScalarAsync("SELECT COUNT(*) FROM security_events WHERE org_id = @o AND agent_id = @a AND created >= @t", null, ("@o", orgId), ("@a", agentId), ("@t", since)).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture));

    public Task<int> AddFeedbackAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, int rating, string? comment) =>
        c.ExecAsync("INSERT INTO feedback (id, org_id, agent_id, rating, comment, created) VALUES (@i, @o, @a, @r, @c, @t)", tx,
            ("@i", NewId()), ("@o", orgId), ("@a", agentId), ("@r", (long)rating), ("@c", comment), ("@t", Now));

    public Task<List<long>> ListRatingsAsync(string orgId, string agentId) =>
        Db.ReadAsync(c => c.QueryAsync("SELECT rating FROM feedback WHERE org_id = @o AND agent_id = @a", null, r => r.GetInt64(0), ("@o", orgId), ("@a", agentId)));

    public Task AddTrustScoreAsync(string orgId, string agentId, double score, string factorsJson) => Db.WriteAsync((c, tx) =>
        c.ExecAsync("INSERT INTO trust_scores (id, org_id, agent_id, score, factors, computed) VALUES (@i, @o, @a, @s, @f, @t)", tx,
            ("@i", NewId()), ("@o", orgId), ("@a", agentId), ("@s", score), ("@f", factorsJson), ("@t", Now)));

    public Task<List<(double Score, string Factors, long Computed)>> ListTrustScoresAsync(string orgId, string agentId, int limit) =>
        Db.ReadAsync(c => c.QueryAsync("SELECT score, factors, computed FROM trust_scores WHERE org_id = @o AND agent_id = @a ORDER BY computed DESC LIMIT @l", null,
            r => (r.GetDouble(0), r.GetString(1), r.GetInt64(2)), ("@o", orgId), ("@a", agentId), ("@l", (long)limit)));

    // ---- MCP servers ----

    private const string McpColumns = "id, org_id, name, url, public_key, challenge, attested, created";

    public async Task<McpServerRow> AddMcpServerAsync(DbConnection c, DbTransaction tx, string orgId, string name, string url, byte[] publicKey, byte[] challenge)
    {
        var row = new McpServerRow(NewId(), orgId, name, url, publicKey, challenge, null, Now);
        int n = await c.ExecAsync("INSERT INTO mcp_servers (id, org_id, name, url, public_key, challenge, created) VALUES (@i, @o, @n, @u, @p, @c, @t) ON CONFLICT DO NOTHING", tx,
            ("@i", row.Id), ("@o", orgId), ("@n", name), ("@u", url), ("@p", publicKey), ("@c", challenge), ("@t", row.Created)).ConfigureAwait(false);
        return n == 1 ? row : throw ApiException.Conflict("mcp_server_exists", $"An MCP server named '{name}' is registered.");
    }

    public Task<McpServerRow?> FindMcpServerAsync(string orgId, string id) =>
        Db.ReadAsync(c => c.SingleAsync($"SELECT {McpColumns} FROM mcp_servers WHERE id = @i AND org_id = @o", null, MapMcp, ("@i", id), ("@o", orgId)));

    public Task<List<McpServerRow>> ListMcpServersAsync(string orgId) =>
        Db.ReadAsync(c => c.QueryAsync($"SELECT {McpColumns} FROM mcp_servers WHERE org_id = @o ORDER BY name", null, MapMcp, ("@o", orgId)));

    /// <summary>Marks the server attested; false when it was attested already (nothing changes).</summary>
    public async Task<bool> MarkMcpAttestedAsync(DbConnection c, DbTransaction tx, string orgId, string id) =>
        await c.ExecAsync("UPDATE mcp_servers SET attested = @t WHERE id = @i AND org_id = @o AND attested IS NULL", tx, ("@t", Now), ("@i", id), ("@o", orgId)).ConfigureAwait(false) == 1;

    // ---- mapping ----

    private static OrgRow MapOrg(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2));

    private static ApiKeyRow MapApiKey(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.Bytes(4), r.GetInt64(5) != 0, r.GetInt64(6), r.NullableInt64(7));

    private static AgentRow MapAgent(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.NullableString(4), r.NullableString(5), r.GetInt64(6), r.GetInt64(7));

    private static AgentKeyRow MapKey(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.Bytes(3), r.GetInt64(4), r.NullableInt64(5));

    private static CapabilityRequestRow MapRequest(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.NullableString(4), r.GetString(5), r.GetInt64(6), r.NullableString(7), r.NullableInt64(8), r.NullableString(9));

    internal static VerificationRow MapVerification(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.NullableString(5), r.GetString(6), r.NullableString(7),
        r.GetString(8), r.NullableString(9), r.NullableString(10), r.NullableString(11), r.NullableString(12), r.GetInt64(13), r.GetInt64(14), r.NullableInt64(15),
        r.NullableString(16), r.NullableInt64(17))
    {
        Step = r.NullableString(18),
        CostUsd = r.NullableString(19),
        Reserved = r.GetInt64(20) != 0,
        BudgetPeriod = r.NullableInt64(21),
        Details = r.NullableString(22),
        Evidence = r.NullableString(23),
    };

    private static McpServerRow MapMcp(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.Bytes(4), r.Bytes(5), r.NullableInt64(6), r.GetInt64(7));
}
