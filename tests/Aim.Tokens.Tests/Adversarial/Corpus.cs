using Aim.Tokens.Identity;
using Aim.Tokens.Verification;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>The whole adversarial corpus and the verifier it runs against.</summary>
internal static class Corpus
{
    public static IEnumerable<Attack> All() => CompactAttacks.All().Concat(ChainedAttacks.All()).Concat(AppendedAttacks.All());

    public static IEnumerable<(string Name, string Token, AipAccessRequest? Request)> Baselines()
    {
        yield return ("compact", RawJws.Sign(RawJws.Header, RawJws.Payload(Id(CompactAttacks.Root), Id(CompactAttacks.Agent)), CompactAttacks.Root), new AipAccessRequest("tool:search", 5m));
        yield return ("chained two hops (raw)", RawBiscuit.Text(ChainedAttacks.HonestTwoHops()), new AipAccessRequest("tool:search", 1m));
        yield return ("chained root (raw)", RawBiscuit.Text(ChainedAttacks.HonestRoot()), new AipAccessRequest("tool:fetch", 5m));
        yield return ("chained two hops, appended blocks (raw)", RawBiscuit.Text(AppendedAttacks.HonestTwoHops()), new AipAccessRequest("tool:search", 1m));
        yield return ("chained two hops, appended then attested (raw)", RawBiscuit.Text(AppendedAttacks.HonestMixed()), new AipAccessRequest("tool:search", 1m));
        yield return ("chained two hops, appended, completed (raw)", RawBiscuit.Text(AppendedAttacks.HonestCompleted()), new AipAccessRequest("tool:search", 1m));
    }

    public static AipVerifier Verifier(ManualClock clock, bool requireAttestation = false) =>
        new(new AipVerifierOptions
        {
            TimeProvider = clock,
            TrustStore = new InMemoryTrustStore(Id(CompactAttacks.Root)),
            RequireAttestation = requireAttestation,
        });
}
