using System.Data.Common;
using Aim.Server.Storage;

namespace Aim.Server.Compat;

/// <summary>
/// An organization's AIM compatibility switch (a missing row means off): <c>Enabled</c>, whether the AIM routes answer for the
/// organization's agents and API keys; <c>ServerKeys</c>, whether AIM's API-key registration may create a key pair on the
/// server and hand out its private key.
/// </summary>
internal sealed record CompatSettings(bool Enabled, bool ServerKeys, long? Updated, string? UpdatedBy)
{
    public static CompatSettings Off { get; } = new(false, false, null, null);
}

/// <summary>
/// An agent that came through an AIM SDK: what the dashboard shows next to it. <c>Sdk</c> is <c>aim</c> until a request names
/// its language, then <c>aim-python</c>, <c>aim-typescript</c>, ...; <c>KeyCustody</c> is <c>server</c> when the server
/// generated the key pair and handed out the private key, <c>client</c> when the agent registered its own public key.
/// </summary>
internal sealed record CompatAgentRow(string AgentId, string OrgId, string Sdk, string? SdkVersion, string KeyCustody, string? DisplayName, string? AgentType,
    string? Version, string? RepositoryUrl, string? DocumentationUrl, long Created, long Updated)
{
    /// <summary>How people read the marker, for example "AIM Python SDK 1.0.0".</summary>
    public string Marker => AimSdkKinds.Describe(Sdk, SdkVersion);
}

/// <summary>An MCP server an AIM-SDK agent said it talks to (registered by it or detected by its SDK).</summary>
internal sealed record CompatMcpRow(string AgentId, string Name, string Method, double? Confidence, string? SdkVersion, long FirstSeen, long LastSeen);

/// <summary>
/// The compatibility surface's own tables: the per-organization switch (<c>compat_orgs</c>), the AIM-SDK agents
/// (<c>compat_agents</c>) and the MCP servers they reported (<c>compat_mcp</c>). Every query filters by organization.
/// Writes take the caller's transaction so they commit together with their audit entry.
/// </summary>
internal sealed class CompatStore(ServerStore store)
{
    private Database Db => store.Db;

    /// <summary>True when at least one organization has the switch on (otherwise every AIM route answers 404 before reading anything else).</summary>
    public Task<bool> AnyEnabledAsync() =>
        Db.ReadAsync(async c => await c.ScalarAsync("SELECT 1 FROM compat_orgs WHERE enabled = 1 LIMIT 1", null).ConfigureAwait(false) is not null);

    public Task<CompatSettings> SettingsAsync(string orgId) => Db.ReadAsync(async c =>
        await c.SingleAsync("SELECT enabled, server_keys, updated, updated_by FROM compat_orgs WHERE org_id = @o", null,
            r => new CompatSettings(r.GetInt64(0) != 0, r.GetInt64(1) != 0, r.GetInt64(2), r.GetString(3)), ("@o", orgId)).ConfigureAwait(false)
        ?? CompatSettings.Off);

    public static async Task SetSettingsAsync(DbConnection c, DbTransaction tx, string orgId, bool enabled, bool serverKeys, string by, long now) =>
        await c.ExecAsync("INSERT INTO compat_orgs (org_id, enabled, server_keys, updated, updated_by) VALUES (@o, @e, @s, @t, @b) " +
            "ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, server_keys = excluded.server_keys, updated = excluded.updated, updated_by = excluded.updated_by", tx,
            ("@o", orgId), ("@e", enabled ? 1L : 0L), ("@s", serverKeys ? 1L : 0L), ("@t", now), ("@b", by)).ConfigureAwait(false);

    /// <summary>The organization with this id or name (an admin names its own organization either way).</summary>
    public Task<OrgRow?> FindOrgAsync(string idOrName) =>
        Db.ReadAsync(c => c.SingleAsync("SELECT id, name, created FROM orgs WHERE id = @x OR name = @x ORDER BY CASE WHEN id = @x THEN 0 ELSE 1 END LIMIT 1", null,
            r => new OrgRow(r.GetString(0), r.GetString(1), r.GetInt64(2)), ("@x", idOrName)));

    // ---- AIM-SDK agents ----

    private const string AgentColumns = "agent_id, org_id, sdk, sdk_version, key_custody, display_name, agent_type, version, repository_url, documentation_url, created, updated";

    public static Task<int> AddAgentAsync(DbConnection c, DbTransaction tx, CompatAgentRow row) =>
        c.ExecAsync($"INSERT INTO compat_agents ({AgentColumns}) VALUES (@a, @o, @s, @sv, @k, @dn, @at, @v, @ru, @du, @t, @t) ON CONFLICT (agent_id) DO NOTHING", tx,
            ("@a", row.AgentId), ("@o", row.OrgId), ("@s", row.Sdk), ("@sv", row.SdkVersion), ("@k", row.KeyCustody), ("@dn", row.DisplayName), ("@at", row.AgentType),
            ("@v", row.Version), ("@ru", row.RepositoryUrl), ("@du", row.DocumentationUrl), ("@t", row.Created));

    public Task<CompatAgentRow?> FindAgentAsync(string orgId, string agentId) =>
        Db.ReadAsync(c => c.SingleAsync($"SELECT {AgentColumns} FROM compat_agents WHERE org_id = @o AND agent_id = @a", null, MapAgent, ("@o", orgId), ("@a", agentId)));

    public Task<List<CompatAgentRow>> ListAgentsAsync(string orgId) =>
        Db.ReadAsync(c => c.QueryAsync($"SELECT {AgentColumns} FROM compat_agents WHERE org_id = @o", null, MapAgent, ("@o", orgId)));

    /// <summary>Records which SDK (and version) an agent's requests name; a no-op when nothing changed.</summary>
    public Task<int> NoteSdkAsync(string orgId, string agentId, string sdk, string? version, long now) =>
        Db.WriteAsync((c, tx) => NoteSdkAsync(c, tx, orgId, agentId, sdk, version, now));

    public static Task<int> NoteSdkAsync(DbConnection c, DbTransaction tx, string orgId, string agentId, string sdk, string? version, long now) =>
        c.ExecAsync("UPDATE compat_agents SET sdk = @s, sdk_version = COALESCE(@v, sdk_version), updated = @t WHERE org_id = @o AND agent_id = @a " +
            "AND (sdk <> @s OR (@v IS NOT NULL AND (sdk_version IS NULL OR sdk_version <> @v)))", tx,
            ("@s", sdk), ("@v", version), ("@t", now), ("@o", orgId), ("@a", agentId));

    // ---- MCP servers the agents reported ----

    /// <summary>Adds or refreshes the named MCP servers; returns the names that were new for this agent.</summary>
    public static async Task<List<string>> ReportMcpAsync(DbConnection c, DbTransaction tx, string orgId, string agentId,
        IReadOnlyList<(string Name, string Method, double? Confidence, string? SdkVersion)> servers, long now)
    {
        var added = new List<string>();
        foreach (var (name, method, confidence, sdkVersion) in servers)
        {
            bool known = await c.ScalarAsync("SELECT 1 FROM compat_mcp WHERE agent_id = @a AND org_id = @o AND name = @n", tx, ("@a", agentId), ("@o", orgId), ("@n", name)).ConfigureAwait(false) is not null;
            if (known)
            {
                await c.ExecAsync("UPDATE compat_mcp SET method = @m, confidence = @c, sdk_version = COALESCE(@v, sdk_version), last_seen = @t WHERE agent_id = @a AND org_id = @o AND name = @n", tx,
                    ("@m", method), ("@c", (object?)confidence ?? new NullOf(System.Data.DbType.Double)), ("@v", sdkVersion), ("@t", now), ("@a", agentId), ("@o", orgId), ("@n", name)).ConfigureAwait(false);
            }
            else
            {
                await c.ExecAsync("INSERT INTO compat_mcp (agent_id, org_id, name, method, confidence, sdk_version, first_seen, last_seen) VALUES (@a, @o, @n, @m, @c, @v, @t, @t)", tx,
                    ("@a", agentId), ("@o", orgId), ("@n", name), ("@m", method), ("@c", (object?)confidence ?? new NullOf(System.Data.DbType.Double)), ("@v", sdkVersion), ("@t", now)).ConfigureAwait(false);
                added.Add(name);
            }
        }

        return added;
    }

    public Task<List<CompatMcpRow>> ListMcpAsync(string orgId, string agentId) =>
        Db.ReadAsync(c => c.QueryAsync("SELECT agent_id, name, method, confidence, sdk_version, first_seen, last_seen FROM compat_mcp WHERE org_id = @o AND agent_id = @a ORDER BY name", null,
            r => new CompatMcpRow(r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetDouble(3), r.NullableString(4), r.GetInt64(5), r.GetInt64(6)),
            ("@o", orgId), ("@a", agentId)));

    /// <summary>The agent's pending capability request for <paramref name="capability"/>, if any (AIM SDKs report the same capability again on every start).</summary>
    public Task<CapabilityRequestRow?> PendingRequestAsync(string orgId, string agentId, string capability) =>
        Db.ReadAsync(c => c.SingleAsync("SELECT id, org_id, agent_id, capability, reason, status, created, decided_by, decided, decision_reason FROM capability_requests " +
            "WHERE org_id = @o AND agent_id = @a AND capability = @c AND status = 'pending' ORDER BY created LIMIT 1", null,
            r => new CapabilityRequestRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.NullableString(4), r.GetString(5), r.GetInt64(6),
                r.NullableString(7), r.NullableInt64(8), r.NullableString(9)),
            ("@o", orgId), ("@a", agentId), ("@c", capability)));

    private static CompatAgentRow MapAgent(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.GetString(4), r.NullableString(5),
        r.NullableString(6), r.NullableString(7), r.NullableString(8), r.NullableString(9), r.GetInt64(10), r.GetInt64(11));
}
