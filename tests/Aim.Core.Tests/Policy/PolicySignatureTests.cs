using System.Text.Json.Nodes;
using Aim.Identity;
using Aim.Policy;

namespace Aim.Core.Tests.Policy;

public sealed class PolicySignatureTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aim-policysig-" + Guid.NewGuid().ToString("N"));
    private readonly string _policy;

    public PolicySignatureTests()
    {
        Directory.CreateDirectory(_dir);
        _policy = Path.Combine(_dir, "policy.json");
        File.WriteAllText(_policy, """{"agents":{"a":{"grants":["db:read"]}}}""");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Unsigned_policy_is_reported_unsigned()
    {
        Assert.Equal(PolicySignatureStatus.Unsigned, PolicySignature.Verify(_policy, []).Status);
    }

    [Fact]
    public void Signed_policy_verifies_with_the_signing_key()
    {
        using var key = AgentKey.Generate("admin");
        PolicySignature.Sign(_policy, key);

        var result = PolicySignature.Verify(_policy, [key.Identity]);

        Assert.Equal(PolicySignatureStatus.Valid, result.Status);
        Assert.Equal(key.Identity.AipId, result.Signer);
        Assert.True(File.Exists(_policy + ".sig"));
    }

    [Fact]
    public void Edited_policy_no_longer_verifies()
    {
        using var key = AgentKey.Generate("admin");
        PolicySignature.Sign(_policy, key);
        File.WriteAllText(_policy, """{"agents":{"a":{"grants":["*"]}}}""");

        Assert.Equal(PolicySignatureStatus.Invalid, PolicySignature.Verify(_policy, [key.Identity]).Status);
    }

    [Fact]
    public void Signature_by_an_unknown_key_is_untrusted()
    {
        using var key = AgentKey.Generate("admin");
        using var other = AgentKey.Generate("other");
        PolicySignature.Sign(_policy, key);

        Assert.Equal(PolicySignatureStatus.UntrustedSigner, PolicySignature.Verify(_policy, [other.Identity]).Status);
    }

    [Fact]
    public void Signer_swapped_for_a_trusted_key_does_not_verify()
    {
        using var attacker = AgentKey.Generate("attacker");
        using var trusted = AgentKey.Generate("admin");
        PolicySignature.Sign(_policy, attacker);
        var sig = JsonNode.Parse(File.ReadAllText(_policy + ".sig"))!;
        sig["signer"] = trusted.Identity.AipId;
        File.WriteAllText(_policy + ".sig", sig.ToJsonString());

        Assert.Equal(PolicySignatureStatus.Invalid, PolicySignature.Verify(_policy, [trusted.Identity]).Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"format":"other","version":1,"signer":"x","signature":"y"}""")]
    [InlineData("""{"format":"aim-detached-signature","version":2,"signer":"x","signature":"y"}""")]
    [InlineData("""{"format":"aim-detached-signature","version":1,"signer":"aip:key:ed25519:zbad0","signature":"AAAA"}""")]
    [InlineData("""{"format":"aim-detached-signature","version":1,"signer":"aip:key:ed25519:zFVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z","signature":"!!"}""")]
    public void Malformed_signature_files_are_invalid_not_exceptions(string content)
    {
        File.WriteAllText(_policy + ".sig", content);
        Assert.Equal(PolicySignatureStatus.Invalid, PolicySignature.Verify(_policy, []).Status);
    }
}
