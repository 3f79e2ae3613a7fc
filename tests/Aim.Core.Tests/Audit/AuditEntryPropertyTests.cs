using Aim.Audit;
using Aim.Crypto;
using Aim.Tests.Properties;
using CsCheck;
using Xunit.Abstractions;

namespace Aim.Core.Tests.Audit;

/// <summary>
/// Property-based and mutation tests of the audit entry codec, the parser every stored or imported entry goes through:
/// random bytes and every kind of edit of a real signed entry are refused with a typed result (false, or
/// <see cref="AuditLogException"/>), never another exception, and no edit that changes what was signed still verifies.
/// </summary>
[Trait("Category", "Property")]
public sealed class AuditEntryPropertyTests(ITestOutputHelper output)
{
    private static (byte[] Body, byte[] AgentKey) SignedEntry(int n)
    {
        using var agent = AuditTestData.AgentKey();
        var prepared = AuditEntryCodec.Prepare(AuditTestData.Record(n), agent.PublicKey);
        var unsigned = AuditEntryCodec.EncodeUnsigned(prepared, n, new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero), out int sigOffset);
        return (AuditEntryCodec.Seal(unsigned, sigOffset, agent.Sign(unsigned)), agent.PublicKey.ToArray());
    }

    private static bool Verifies(byte[] body, out EntryInspection inspection) =>
        AuditEntryCodec.TryInspect(body, out inspection) && Ed25519.Verify(inspection.AgentKey, AuditEntryCodec.SignedBytes(body, inspection), inspection.Signature);

    private static void DecodesOrRefusesTyped(byte[] body)
    {
        try
        {
            AuditEntryCodec.Decode(body);
        }
        catch (AuditLogException ex)
        {
            Assert.Equal(AuditLogException.Corrupt, ex.Code);
        }
    }

    [Fact]
    public void A_real_entry_verifies_and_decodes()
    {
        var (body, key) = SignedEntry(7);
        Assert.True(Verifies(body, out var inspection));
        Assert.Equal(key, inspection.AgentKey);
        Assert.Equal(7, AuditEntryCodec.Decode(body).Index);
    }

    [Fact]
    public void Random_bytes_are_refused_with_a_typed_result()
    {
        Gen.Byte.Array[0, 600].Sample(bytes =>
        {
            Assert.False(Verifies(bytes, out _));
            DecodesOrRefusesTyped(bytes);
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(3000), threads: PropertyRun.Threads);
    }

    [Fact]
    public void Every_edit_of_a_signed_entry_is_refused_or_leaves_the_signed_bytes_unchanged()
    {
        var (body, _) = SignedEntry(3);
        Assert.True(AuditEntryCodec.TryInspect(body, out var original));
        var signed = AuditEntryCodec.SignedBytes(body, original);
        Mutations.Of(body).Sample(mutated =>
        {
            DecodesOrRefusesTyped(mutated);
            if (Verifies(mutated, out var inspection))
            {
                // Only an edit inside the signature's own encoding can still verify, and then the entry says exactly what was signed.
                Assert.Equal(signed, AuditEntryCodec.SignedBytes(mutated, inspection));
                Assert.Equal(original.Index, inspection.Index);
            }
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(5000), threads: PropertyRun.Threads);
    }

    [Fact]
    public void Stored_heads_and_proof_inputs_never_throw()
    {
        Gen.String.Sample(text =>
        {
            try
            {
                var head = SignedTreeHead.FromJson(text);
                Assert.False(head.VerifySignature() && head.TreeSize < 0);
            }
            catch (AuditLogException ex)
            {
                Assert.Equal(AuditLogException.TreeHeadInvalid, ex.Code);
            }
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(2000), threads: PropertyRun.Threads);

        using var log = AuditTestData.LogKey();
        var valid = SignedTreeHead.Sign(5, new byte[32], new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), log).ToJson();
        Mutations.Of(valid).Sample(text =>
        {
            try
            {
                var head = SignedTreeHead.FromJson(text);
                if (head.VerifySignature())
                {
                    Assert.True(head.SameTree(SignedTreeHead.FromJson(valid)), "an edited head that still verifies states the same tree");
                }
            }
            catch (AuditLogException ex)
            {
                Assert.Equal(AuditLogException.TreeHeadInvalid, ex.Code);
            }
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(3000), threads: PropertyRun.Threads);
    }
}
