using System.Data.Common;

namespace Aim.Server.Storage;

/// <summary>A trusted root of delegation chains: an <c>aip:key</c> identifier, or an <c>aip:web</c> one with its pinned key.</summary>
internal sealed record TrustedRootRow(string Id, string OrgId, string Identifier, byte[] PublicKey, string? Label, long Created, string CreatedBy);

/// <summary>
/// The decision data beyond grants: per-agent policy documents, the organization's trusted roots, and storing a
/// verification together with the state step 3 used (nonce, rate-limit events, budget reservation) in one transaction.
/// Administrative changes take the caller's transaction, so they commit only together with their audit entry.
/// Every change that affects decisions bumps the agent generation in the same transaction, so cached decision data is
/// never trusted stale (see <c>AgentAccessCache</c>).
/// </summary>
internal sealed class DecisionStore(ServerStore store)
{
    private Database Db => store.Db;

    /// <summary>The SQL engine behind the store.</summary>
    public SqlDialect Dialect => store.Db.Dialect;

    public Task<string?> PolicyDocumentAsync(string orgId, string agentId) =>
        Db.ReadAsync(async c => (string?)await c.ScalarAsync("SELECT document FROM agent_policies WHERE agent_id = @a AND org_id = @o", null, ("@a", agentId), ("@o", orgId)).ConfigureAwait(false));

    /// <summary>Stores (or, with null, removes) the agent's policy document; with <paramref name="grants"/> also replaces its grants.</summary>
    public static async Task SetPolicyAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string? document, IReadOnlyList<string>? grants, string by, long now)
    {
        if (document is null)
        {
            await c.ExecAsync("DELETE FROM agent_policies WHERE agent_id = @a AND org_id = @o", tx, ("@a", agentId), ("@o", orgId)).ConfigureAwait(false);
        }
        else
        {
            await c.ExecAsync("INSERT INTO agent_policies (agent_id, org_id, document, updated, updated_by) VALUES (@a, @o, @d, @t, @b) " +
                "ON CONFLICT (agent_id) DO UPDATE SET document = excluded.document, updated = excluded.updated, updated_by = excluded.updated_by", tx,
                ("@a", agentId), ("@o", orgId), ("@d", document), ("@t", now), ("@b", by)).ConfigureAwait(false);
        }

        if (grants is not null)
        {
            await c.ExecAsync("DELETE FROM grants WHERE agent_id = @a AND org_id = @o", tx, ("@a", agentId), ("@o", orgId)).ConfigureAwait(false);
            foreach (var pattern in grants.Distinct(StringComparer.Ordinal))
            {
                await c.ExecAsync("INSERT INTO grants (id, org_id, agent_id, pattern, created, created_by) VALUES (@i, @o, @a, @p, @t, @b)", tx,
                    ("@i", ServerStore.NewId()), ("@o", orgId), ("@a", agentId), ("@p", pattern), ("@t", now), ("@b", by)).ConfigureAwait(false);
            }
        }

        await ServerStore.AgentsChangedAsync(c, tx).ConfigureAwait(false);
    }

    public Task<List<TrustedRootRow>> ListRootsAsync(string orgId) =>
        Db.ReadAsync(c => c.QueryAsync("SELECT id, org_id, identifier, public_key, label, created, created_by FROM trusted_roots WHERE org_id = @o ORDER BY created", null, MapRoot, ("@o", orgId)));

    /// <summary>Adds a trusted root; null when the organization already trusts that identifier.</summary>
    public static async Task<TrustedRootRow?> AddRootAsync(DbConnection c, DbTransaction tx, string orgId, string identifier, byte[] publicKey, string? label, string by, long now)
    {
        var row = new TrustedRootRow(ServerStore.NewId(), orgId, identifier, publicKey, label, now, by);
        int n = await c.ExecAsync("INSERT INTO trusted_roots (id, org_id, identifier, public_key, label, created, created_by) VALUES (@i, @o, @d, @p, @l, @t, @b) ON CONFLICT DO NOTHING", tx,
            ("@i", row.Id), ("@o", orgId), ("@d", identifier), ("@p", publicKey), ("@l", label), ("@t", now), ("@b", by)).ConfigureAwait(false);
        if (n == 0)
        {
            return null;
        }

        await ServerStore.AgentsChangedAsync(c, tx).ConfigureAwait(false);
        return row;
    }

    /// <summary>Removes a trusted root by id or identifier; the removed row, or null when there was none.</summary>
    public static async Task<TrustedRootRow?> RemoveRootAsync(DbConnection c, DbTransaction tx, string orgId, string idOrIdentifier)
    {
        var row = await c.SingleAsync("SELECT id, org_id, identifier, public_key, label, created, created_by FROM trusted_roots WHERE org_id = @o AND (id = @x OR identifier = @x)", tx,
            MapRoot, ("@o", orgId), ("@x", idOrIdentifier)).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        await c.ExecAsync("DELETE FROM trusted_roots WHERE id = @i", tx, ("@i", row.Id)).ConfigureAwait(false);
        await ServerStore.AgentsChangedAsync(c, tx).ConfigureAwait(false);
        return row;
    }

    /// <summary>
    /// Stores a verification decided by <paramref name="decide"/> inside one transaction, with the request's nonce, but only if
    /// no decision data changed since <paramref name="agentGeneration"/> was read. <paramref name="decide"/> runs inside the
    /// transaction (it takes step 3's state there) and returns the row to insert.
    /// </summary>
    public Task<(VerificationWrite Write, VerificationRow? Row)> DecideAndStoreAsync((string KeyId, string Nonce, long Expires) nonce, long agentGeneration,
        Func<DbConnection, DbTransaction, Task<VerificationRow>> decide) => Db.WriteAsync<(VerificationWrite, VerificationRow?)>(async (c, tx) =>
    {
        if (await ServerStore.CurrentAgentGenerationAsync(c, tx).ConfigureAwait(false) != agentGeneration)
        {
            return (VerificationWrite.AgentChanged, null);
        }

        await store.PruneNoncesAsync(c, tx).ConfigureAwait(false);
        if (await c.ExecAsync("INSERT INTO nonces (key_id, nonce, expires) VALUES (@k, @n, @e) ON CONFLICT DO NOTHING", tx,
                ("@k", nonce.KeyId), ("@n", nonce.Nonce), ("@e", nonce.Expires)).ConfigureAwait(false) == 0)
        {
            return (VerificationWrite.NonceReplayed, null);
        }

        var row = await decide(c, tx).ConfigureAwait(false);
        await ServerStore.InsertVerificationAsync(c, tx, row).ConfigureAwait(false);
        return (VerificationWrite.Stored, row);
    });

    private static TrustedRootRow MapRoot(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.Bytes(3), r.NullableString(4), r.GetInt64(5), r.GetString(6));
}
