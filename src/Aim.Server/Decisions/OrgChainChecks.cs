using System.Collections.Concurrent;
using Aim.Authorization;
using Aim.Server.Security;
using Aim.Server.Storage;
using Aim.Tokens.Identity;
using Aim.Tokens.Runtime;
using Aim.Tokens.Verification;

namespace Aim.Server.Decisions;

/// <summary>
/// Step 4 on the server: delegation chains are verified (AIP V1-V7, Aim.Tokens) against the organization's trusted
/// roots, managed through <c>/api/v1/trusted-roots</c> and <c>aim roots</c>. One verifier per organization and data
/// generation, so a root added or removed takes effect with the next request. An organization without roots has no
/// verifier: its delegated calls are denied <c>chain_unverifiable</c>.
/// </summary>
internal sealed class OrgChainChecks(AimServerOptions options)
{
    private readonly ConcurrentDictionary<string, (IReadOnlyList<TrustedRootRow> Roots, IChainCheck Check)> _byOrg = new(StringComparer.Ordinal);

    /// <summary>The chain check for the agent's organization, or null when it trusts no root.</summary>
    public IChainCheck? For(AgentAccess access)
    {
        if (access.Roots.Count == 0)
        {
            return null;
        }

        if (_byOrg.TryGetValue(access.Agent.OrgId, out var cached) && SameRoots(cached.Roots, access.Roots))
        {
            return cached.Check;
        }

        var trust = new InMemoryTrustStore();
        foreach (var root in access.Roots)
        {
            trust.TrustRoot(root.Identifier);
            if (root.Identifier.StartsWith("aip:web:", StringComparison.Ordinal))
            {
                trust.Pin(root.Identifier, [new AipPublicKey(root.Identifier + "#key-1", root.PublicKey)]);
            }
        }

        var check = new AipChainCheck(new AipVerifier(new AipVerifierOptions { TrustStore = trust, TimeProvider = options.TimeProvider }));
        _byOrg[access.Agent.OrgId] = (access.Roots, check);
        return check;
    }

    private static bool SameRoots(IReadOnlyList<TrustedRootRow> a, IReadOnlyList<TrustedRootRow> b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Count; i++)
        {
            if (a[i].Id != b[i].Id)
            {
                return false;
            }
        }

        return true;
    }
}
