using System.Collections.Concurrent;
using Aim.Policy;
using Aim.Server.Decisions;
using Aim.Server.Storage;

namespace Aim.Server.Security;

/// <summary>What a verification needs to know about the agent behind a key, as of one agent generation.</summary>
/// <param name="Agent">The agent (status included).</param>
/// <param name="Key">The signing key (its overlap end included).</param>
/// <param name="Policy">The agent's policy: its grants plus its stored policy document (attributes, time windows, rate limits, budget).</param>
/// <param name="Roots">The organization's trusted roots for delegation chains.</param>
/// <param name="Generation">The agent generation read before the rows: a write that commits with another generation must decide again.</param>
internal sealed record AgentAccess(AgentRow Agent, AgentKeyRow Key, AgentPolicy Policy, IReadOnlyList<TrustedRootRow> Roots, long Generation)
{
    private Aim.Identity.AgentIdentity? _identity;

    /// <summary>The agent's identity under this key, built once per cached entry: its AIP identifier (a base58 encoding,
    /// which step 4 compares with a token's holder) is then computed once, not per request.</summary>
    public Aim.Identity.AgentIdentity Identity => _identity ??= new(Guid.TryParse(Agent.Id, out var id) ? id : Guid.Empty, Agent.Name, Key.PublicKey);
}

/// <summary>
/// Agents, keys and grants by signing key, so a verification does not read them per request. Staleness is never
/// trusted: every change to agents, keys or grants bumps the database's agent generation in the same transaction,
/// and a verification commits only if the generation it decided on is still current (checked inside its own write,
/// see <c>ServerStore.InsertVerificationAsync</c>); otherwise it reloads and decides again. That makes
/// suspension, revocation, rotation and grant changes take effect at once, also across replicas sharing a database.
/// </summary>
internal sealed class AgentAccessCache(ServerStore store, DecisionStore decisions)
{
    // Bounded: a fleet larger than this only costs reloads, never memory.
    private const int MaxEntries = 100_000;

    private readonly ConcurrentDictionary<string, AgentAccess> _byKey = new(StringComparer.Ordinal);

    /// <summary>The cached access for a key, or a fresh load when absent; null when the key belongs to no agent.</summary>
    public ValueTask<AgentAccess?> FindAsync(string keyId) =>
        _byKey.TryGetValue(keyId, out var cached) ? ValueTask.FromResult<AgentAccess?>(cached) : LoadAsync(keyId);

    /// <summary>Reads the key, its agent and the agent's grants from the database and caches them.</summary>
    public async ValueTask<AgentAccess?> LoadAsync(string keyId)
    {
        // The generation first: a change committed between the two reads makes this entry fail its check, never pass it.
        long generation = await store.AgentGenerationAsync().ConfigureAwait(false);
        var found = await store.FindAgentByKeyAsync(keyId).ConfigureAwait(false);
        if (found is not var (agent, key))
        {
            _byKey.TryRemove(keyId, out _);
            return null;
        }

        var grants = await store.ListGrantsAsync(agent.OrgId, agent.Id).ConfigureAwait(false);
        var document = await decisions.PolicyDocumentAsync(agent.OrgId, agent.Id).ConfigureAwait(false);
        var roots = await decisions.ListRootsAsync(agent.OrgId).ConfigureAwait(false);
        var access = new AgentAccess(agent, key, ServerPolicy.Build(agent.Name, grants, document), roots, generation);
        if (_byKey.Count >= MaxEntries)
        {
            _byKey.Clear();
        }

        _byKey[keyId] = access;
        return access;
    }
}
