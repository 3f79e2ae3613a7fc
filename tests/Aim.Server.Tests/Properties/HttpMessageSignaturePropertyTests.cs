using Aim.Crypto;
using Aim.Identity;
using Aim.Protocol;
using Aim.Tests.Properties;
using CsCheck;
using Xunit.Abstractions;

namespace Aim.Server.Tests.Properties;

/// <summary>
/// Property-based and mutation tests of the RFC 9421 signature headers every agent request carries: any header text
/// parses or is refused without an exception, and no edit of a real signed request's headers that still parses and
/// verifies changes what was signed (parameters, key id, nonce, created, signature bytes).
/// </summary>
[Trait("Category", "Property")]
public sealed class HttpMessageSignaturePropertyTests(ITestOutputHelper output)
{
    private static readonly Uri Target = new("http://127.0.0.1:8080/api/v1/verifications?x=1");
    private static readonly string Digest = HttpMessageSignature.ContentDigest("{\"action_id\":\"a\",\"capability\":\"db:read\"}"u8);

    private static (string Input, string Signature, byte[] PublicKey) Signed()
    {
        using var key = Ed25519KeyPair.FromSeed(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());
        var (input, signature) = HttpMessageSignature.Sign("POST", Target, Digest, 1_780_000_000, "nonce-0123456789abcdef", AgentIdentity.AipIdOf(key.PublicKey), key);
        return (input, signature, key.PublicKey.ToArray());
    }

    [Fact]
    public void Any_header_text_parses_or_is_refused_without_an_exception()
    {
        var (input, signature, key) = Signed();
        Assert.True(HttpMessageSignature.TryParse(input, signature, out var parsed) && HttpMessageSignature.Verify(parsed, "POST", Target.AbsoluteUri, Digest, key));
        Gen.Select(Gen.String, Gen.String).Sample((i, s) =>
        {
            if (HttpMessageSignature.TryParse(i, s, out var p))
            {
                Assert.False(HttpMessageSignature.Verify(p, "POST", Target.AbsoluteUri, Digest, key));
            }
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(4000), threads: PropertyRun.Threads);
    }

    [Fact]
    public void No_edit_of_signed_headers_verifies_with_another_meaning()
    {
        var (input, signature, key) = Signed();
        Assert.True(HttpMessageSignature.TryParse(input, signature, out var original));
        var edits = Gen.OneOf(
            Mutations.Of(input).Select(i => (i, signature)),
            Mutations.Of(signature).Select(s => (input, s)),
            Gen.Select(Mutations.Of(input), Mutations.Of(signature)));
        edits.Sample(pair =>
        {
            var (i, s) = pair;
            if (HttpMessageSignature.TryParse(i, s, out var parsed) && HttpMessageSignature.Verify(parsed, "POST", Target.AbsoluteUri, Digest, key))
            {
                // Only a spelling of the same signature can still verify (base64 with whitespace, say): never other parameters.
                Assert.Equal(original.Parameters, parsed.Parameters);
                Assert.Equal(original.KeyId, parsed.KeyId);
                Assert.Equal(original.Nonce, parsed.Nonce);
                Assert.Equal(original.Created, parsed.Created);
                Assert.Equal(original.Signature, parsed.Signature);
            }
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(8000), threads: PropertyRun.Threads);
    }

    [Fact]
    public void A_signature_never_verifies_for_another_method_uri_or_digest()
    {
        var (input, signature, key) = Signed();
        Assert.True(HttpMessageSignature.TryParse(input, signature, out var parsed));
        Gen.Select(Mutations.Of("POST"), Mutations.Of(Target.AbsoluteUri), Mutations.Of(Digest)).Sample((method, uri, digest) =>
        {
            bool same = method == "POST" && uri == Target.AbsoluteUri && digest == Digest;
            Assert.Equal(same, HttpMessageSignature.Verify(parsed, method, uri, digest, key));
        }, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(3000), threads: PropertyRun.Threads);
    }
}
