using Aim.Tokens.Identity;
using Aim.Tokens.Runtime;
using Aim.Tokens.Verification;

namespace Aim.Tokens.Tests;

public sealed class AgentDelegationTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), $"aim-tokens-{Guid.NewGuid():N}");

    [Fact]
    public async Task Agent_delegates_and_the_receiver_delegates_on_under_the_ambient_token()
    {
        await using var orchestrator = AimAgent.Secure("orchestrator", o => { o.Home = _home; o.Grant("db:read", "email:send"); });
        await using var specialist = AimAgent.Secure("specialist", o => { o.Home = _home; o.Grant("db:read"); });
        await using var tool = AimAgent.Secure("tool", o => { o.Home = _home; });

        var token = orchestrator.Delegate(specialist.AipId, ["db:read", "email:send"], 5m, TimeSpan.FromMinutes(10), "handle ticket 42");
        string narrowed;
        using (AimDelegation.Use(token))
        {
            narrowed = specialist.Delegate(tool.AipId, ["db:read"], 1m, TimeSpan.FromHours(2), "look up the customer");
        }

        var verifier = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(orchestrator.AipId) });
        var verified = await verifier.VerifyAsync(narrowed, new AipAccessRequest("db:read", 0.5m));
        Assert.Equal(orchestrator.AipId, verified.Issuer);
        Assert.Equal(tool.AipId, verified.Subject);
        Assert.Equal(2, verified.Depth);
        Assert.Equal(1m, verified.BudgetUsd);
        Assert.True(verified.ExpiresAt <= DateTimeOffset.UtcNow.AddMinutes(10).AddSeconds(1));

        using (AimDelegation.Use(token))
        {
            var widen = Assert.Throws<AipException>(() => specialist.Delegate(tool.AipId, ["payment:refund"], null, TimeSpan.FromMinutes(1), "x"));
            Assert.Equal(AipErrorCodes.ScopeInsufficient, widen.Code);
            var notHolder = Assert.Throws<AipException>(() => tool.Delegate(specialist.AipId, ["db:read"], null, TimeSpan.FromMinutes(1), "x"));
            Assert.Equal(AipErrorCodes.SignatureInvalid, notHolder.Code);
        }
    }

    [Fact]
    public async Task Agent_can_attest_its_delegation_for_a_verifier_that_requires_it()
    {
        await using var orchestrator = AimAgent.Secure("orchestrator", o => { o.Home = _home; o.Grant("db:read"); });
        await using var specialist = AimAgent.Secure("specialist", o => { o.Home = _home; o.Grant("db:read"); });

        var attested = orchestrator.Delegate(specialist.AipId, ["db:read"], null, TimeSpan.FromMinutes(10), "handle ticket 43", Chained.AipBlockForm.Attested);
        var appended = orchestrator.Delegate(specialist.AipId, ["db:read"], null, TimeSpan.FromMinutes(10), "handle ticket 43");
        var strict = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(orchestrator.AipId), RequireAttestation = true });

        Assert.Equal(specialist.AipId, (await strict.VerifyAsync(attested, new AipAccessRequest("db:read"))).Subject);
        Assert.Equal(AipErrorCodes.SignatureInvalid, (await Assert.ThrowsAsync<AipException>(async () => await strict.VerifyAsync(appended))).Code);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
