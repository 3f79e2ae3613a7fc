using System.Net;
using System.Text;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

public sealed class IdentityTests
{
    private const string WebId = "aip:web:example.com/agents/alpha";
    private readonly ManualClock _clock = new(T0);

    [Theory]
    [InlineData("aip:web:example.com/agents/alpha", "https://example.com/.well-known/aip/agents/alpha.json")]
    [InlineData("aip:web:a.b.example.org/x", "https://a.b.example.org/.well-known/aip/x.json")]
    public void Web_identifier_maps_to_its_document_url(string id, string url)
    {
        var parsed = AipIdentifier.Parse(id);
        Assert.Equal(AipIdentifierKind.Web, parsed.Kind);
        Assert.Equal(url, parsed.DocumentUri.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("aip:web:example.com")]
    [InlineData("aip:web:example.com/")]
    [InlineData("aip:web:Example.com/a")]
    [InlineData("aip:web:example.com/../etc/passwd")]
    [InlineData("aip:web:example.com/a?b")]
    [InlineData("aip:web:exa mple.com/a")]
    [InlineData("aip:web:example.com:8443/a")]
    [InlineData("aip:web:user@example.com/a")]
    [InlineData("aip:key:ed25519:z0OIl")]
    [InlineData("aip:key:ed25519:z")]
    [InlineData("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")]
    public void Hostile_identifiers_are_refused_as_unresolvable(string id)
    {
        var error = Assert.Throws<AipException>(() => AipIdentifier.Parse(id));
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, error.Code);
    }

    [Fact]
    public void Key_identifier_round_trips_the_key()
    {
        using var key = FromByte(7);
        var parsed = AipIdentifier.Parse(Id(key));
        Assert.Equal(AipIdentifierKind.Key, parsed.Kind);
        Assert.True(parsed.PublicKey.SequenceEqual(key.PublicKey));
        Assert.Equal(Aim.Identity.AgentIdentity.AipIdOf(key.PublicKey), parsed.Value);
    }

    [Fact]
    public async Task Web_identity_with_rotated_keys_verifies_tokens_from_both_keys_in_the_overlap()
    {
        using var oldKey = FromByte(10);
        using var newKey = FromByte(11);
        var keys = new[]
        {
            new AipPublicKey("k1", oldKey.PublicKey, T0.AddDays(-30), T0.AddHours(1)),
            new AipPublicKey("k2", newKey.PublicKey, T0.AddMinutes(-5), null),
        };
        var document = AipIdentityDocument.Create(WebId, keys, "k2", newKey);
        var handler = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(document) });
        var verifier = WebVerifier(handler);
        using var agent = FromByte(12);

        foreach (var signer in new[] { oldKey, newKey })
        {
            var token = CompactToken.Create(signer, new AipTokenClaims(WebId, Id(agent), ["tool:search"], null, 0, T0, T0.AddMinutes(10)));
            var verified = await verifier.VerifyAsync(token);
            Assert.Equal(WebId, verified.Issuer);
            Assert.Contains(Id(signer), verified.SignerIds);
        }

        Assert.Equal(1, handler.Calls);

        // After the old key's window closes, its tokens stop verifying.
        _clock.Now = T0.AddHours(2);
        verifier.ClearCache();
        var late = CompactToken.Create(oldKey, new AipTokenClaims(WebId, Id(agent), ["tool:search"], null, 0, _clock.Now, _clock.Now.AddMinutes(10)));
        Assert.Equal(AipErrorCodes.SignatureInvalid, (await Assert.ThrowsAsync<AipException>(async () => await verifier.VerifyAsync(late))).Code);
    }

    [Fact]
    public async Task Web_resolver_caches_at_most_five_minutes()
    {
        using var key = FromByte(10);
        var document = AipIdentityDocument.Create(WebId, [new AipPublicKey("k1", key.PublicKey)], "k1", key);
        var handler = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(document) });
        var resolver = new WebIdentityResolver(new HttpClient(handler), _clock, cacheDuration: TimeSpan.FromHours(1));
        Assert.Equal(TimeSpan.FromMinutes(5), resolver.CacheDuration);

        var id = AipIdentifier.Parse(WebId);
        await resolver.ResolveAsync(id);
        _clock.Advance(TimeSpan.FromMinutes(4));
        await resolver.ResolveAsync(id);
        Assert.Equal(1, handler.Calls);
        _clock.Advance(TimeSpan.FromMinutes(2));
        await resolver.ResolveAsync(id);
        Assert.Equal(2, handler.Calls);
        Assert.Equal("https://example.com/.well-known/aip/agents/alpha.json", handler.LastUri!.ToString());
    }

    public static TheoryData<string> BadDocuments()
    {
        using var key = FromByte(10);
        using var other = FromByte(13);
        var good = AipIdentityDocument.Create(WebId, [new AipPublicKey("k1", key.PublicKey)], "k1", key);
        return new TheoryData<string>
        {
            "not json",
            "[]",
            "{}",
            good.Replace("alpha", "beta", StringComparison.Ordinal),                       // other id (signature also breaks)
            AipIdentityDocument.Create("aip:web:example.com/agents/beta", [new AipPublicKey("k1", key.PublicKey)], "k1", key), // signed, but for another id
            good.Replace("\"k1\",\"public_key\"", "\"k1\",\"not_after\":1,\"public_key\"", StringComparison.Ordinal), // edited after signing
            AipIdentityDocument.Create(WebId, [new AipPublicKey("k1", other.PublicKey)], "k1", other)[..^40] + "\"}}",
            AipIdentityDocument.Create(WebId, [new AipPublicKey("k1", key.PublicKey, null, T0.AddDays(-1))], "k1", key), // signing key expired
            good.Replace(",\"signature\"", ",\"x\"", StringComparison.Ordinal),
            new string('[', 5000),
        };
    }

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public async Task Bad_documents_fail_closed(string document)
    {
        var handler = new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(document) });
        var resolver = new WebIdentityResolver(new HttpClient(handler), _clock);
        var error = await Assert.ThrowsAsync<AipException>(async () => await resolver.ResolveAsync(AipIdentifier.Parse(WebId)));
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, error.Code);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.Found)]
    [InlineData(HttpStatusCode.Forbidden)]
    public async Task Http_failures_fail_closed_and_are_not_cached(HttpStatusCode status)
    {
        var handler = new StubHandler(_ => new HttpResponseMessage(status));
        var resolver = new WebIdentityResolver(new HttpClient(handler), _clock);
        for (var i = 0; i < 2; i++)
        {
            var error = await Assert.ThrowsAsync<AipException>(async () => await resolver.ResolveAsync(AipIdentifier.Parse(WebId)));
            Assert.Equal(AipErrorCodes.IdentityUnresolvable, error.Code);
        }

        Assert.Equal(2, handler.Calls);
    }

    [Fact]
    public async Task Network_error_and_oversized_document_fail_closed()
    {
        var down = new WebIdentityResolver(new HttpClient(new StubHandler(_ => throw new HttpRequestException("no route"))), _clock);
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, (await Assert.ThrowsAsync<AipException>(async () => await down.ResolveAsync(AipIdentifier.Parse(WebId)))).Code);

        var huge = new WebIdentityResolver(new HttpClient(new StubHandler(_ => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(new string(' ', 70_000) + "{}"))),
        })), _clock);
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, (await Assert.ThrowsAsync<AipException>(async () => await huge.ResolveAsync(AipIdentifier.Parse(WebId)))).Code);
    }

    [Fact]
    public async Task Web_identity_without_resolver_or_pin_is_unresolvable_and_pins_work_offline()
    {
        using var key = FromByte(10);
        using var agent = FromByte(12);
        var token = CompactToken.Create(key, new AipTokenClaims(WebId, Id(agent), ["tool:search"], null, 0, T0, T0.AddMinutes(10)));
        var store = new InMemoryTrustStore(WebId);
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = store });
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, (await Assert.ThrowsAsync<AipException>(async () => await verifier.VerifyAsync(token))).Code);

        store.Pin(WebId, [new AipPublicKey("k1", key.PublicKey)]);
        Assert.Equal(WebId, (await verifier.VerifyAsync(token)).Issuer);
    }

    [Fact]
    public async Task File_trust_store_loads_roots_and_pins_and_refuses_corrupt_files()
    {
        using var key = FromByte(10);
        using var agent = FromByte(12);
        var path = Path.Combine(Path.GetTempPath(), $"aip-trust-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, $$"""
                {"trusted_roots":["{{Id(key)}}","{{WebId}}"],
                 "pinned":[{"id":"{{WebId}}","keys":[{"id":"k1","public_key":"{{Id(key)}}","not_after":{{T0.AddDays(1).ToUnixTimeSeconds()}}}]}]}
                """);
            var store = new FileTrustStore(path);
            Assert.True(store.IsTrustedRoot(Id(key)));
            var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = store });
            var token = CompactToken.Create(key, new AipTokenClaims(WebId, Id(agent), ["tool:search"], null, 0, T0, T0.AddMinutes(10)));
            Assert.Equal(WebId, (await verifier.VerifyAsync(token)).Issuer);

            File.WriteAllText(path, """{"trusted_roots":["not-an-id"]}""");
            Assert.Equal(AipErrorCodes.IdentityUnresolvable, Assert.Throws<AipException>(store.Reload).Code);
            Assert.True(store.IsTrustedRoot(Id(key))); // the previous contents stay in force

            File.WriteAllText(path, "{");
            Assert.Equal(AipErrorCodes.IdentityUnresolvable, Assert.Throws<AipException>(() => new FileTrustStore(path)).Code);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(AipErrorCodes.IdentityUnresolvable, Assert.Throws<AipException>(() => new FileTrustStore(path)).Code);
    }

    private AipVerifier WebVerifier(StubHandler handler) =>
        new(new AipVerifierOptions
        {
            TimeProvider = _clock,
            TrustStore = new InMemoryTrustStore(WebId),
            Resolver = new AipIdentityResolver(null, new WebIdentityResolver(new HttpClient(handler), _clock)),
        });
}

internal sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage> respond) : HttpMessageHandler
{
    public int Calls { get; private set; }

    public Uri? LastUri { get; private set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Calls++;
        LastUri = request.RequestUri;
        return Task.FromResult(respond(request));
    }
}

public sealed class WebRedirectTests
{
    [Fact]
    public async Task A_followed_redirect_is_refused()
    {
        var clock = new ManualClock(TestKeys.T0);
        using var key = TestKeys.FromByte(10);
        var document = AipIdentityDocument.Create("aip:web:example.com/a", [new AipPublicKey("k1", key.PublicKey)], "k1", key);
        var handler = new StubHandler(r =>
        {
            // What a redirect-following handler reports: the final request differs from the one sent.
            r.RequestUri = new Uri("https://evil.example.net/.well-known/aip/a.json");
            return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent(document), RequestMessage = r };
        });
        var resolver = new WebIdentityResolver(new HttpClient(handler), clock);
        var error = await Assert.ThrowsAsync<AipException>(async () => await resolver.ResolveAsync(AipIdentifier.Parse("aip:web:example.com/a")));
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, error.Code);
    }
}
