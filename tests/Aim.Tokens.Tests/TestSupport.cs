using Aim.Crypto;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;

namespace Aim.Tokens.Tests;

internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

internal static class TestKeys
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    public static Ed25519KeyPair FromByte(byte b)
    {
        var seed = new byte[32];
        seed.AsSpan().Fill(b);
        return Ed25519KeyPair.FromSeed(seed);
    }

    public static string Id(Ed25519KeyPair key) => AipIdentifier.ForKey(key.PublicKey);

    public static AipTokenClaims Claims(Ed25519KeyPair issuer, Ed25519KeyPair subject, string[]? scopes = null, decimal? budget = 5m, int maxDepth = 2, DateTimeOffset? iat = null, TimeSpan? ttl = null)
    {
        var issued = iat ?? T0;
        return new AipTokenClaims(Id(issuer), Id(subject), scopes ?? ["tool:search", "tool:fetch"], budget, maxDepth, issued, issued + (ttl ?? TimeSpan.FromMinutes(30)));
    }

    public static AipVerifier Verifier(ManualClock clock, params Ed25519KeyPair[] trusted) =>
        new(new AipVerifierOptions
        {
            TimeProvider = clock,
            TrustStore = new InMemoryTrustStore(trusted.Select(Id).ToArray()),
        });
}
