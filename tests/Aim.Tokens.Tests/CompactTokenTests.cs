using System.Buffers.Text;
using System.Text;
using Aim.Tokens.Compact;
using Aim.Tokens.Revocation;
using Aim.Tokens.Verification;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

public sealed class CompactTokenTests
{
    private readonly ManualClock _clock = new(T0.AddMinutes(1));
    private readonly Aim.Crypto.Ed25519KeyPair _root = FromByte(1);
    private readonly Aim.Crypto.Ed25519KeyPair _agent = FromByte(2);

    private static async Task<string> CodeOf(Func<Task> action) => (await Assert.ThrowsAsync<AipException>(action)).Code;

    [Fact]
    public async Task Minted_token_verifies_and_exposes_its_claims()
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        var verified = await Verifier(_clock, _root).VerifyAsync(token, new AipAccessRequest("tool:search", 1m));

        Assert.Equal(AipTokenMode.Compact, verified.Mode);
        Assert.Equal(Id(_root), verified.Issuer);
        Assert.Equal(Id(_agent), verified.Subject);
        Assert.Equal(["tool:search", "tool:fetch"], verified.Scopes);
        Assert.Equal(5m, verified.BudgetUsd);
        Assert.Equal(2, verified.MaxDepth);
        Assert.StartsWith("eyJhbGciOiJFZERTQSIsInR5cCI6ImFpcCtqd3QifQ.", token, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signature_written_with_non_zero_unused_bits_is_refused_as_malformed()
    {
        // 64 bytes encode to 86 characters whose last one carries 4 unused bits: setting one would spell the same
        // signature a second way (a lenient decoder drops those bits), so the token must be refused.
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        var last = token[^1];
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var twin = token[..^1] + Alphabet[Alphabet.IndexOf(last) | 1];
        Assert.NotEqual(token, twin);

        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(twin)));
        Assert.NotNull(await Verifier(_clock, _root).VerifyAsync(token));
    }

    [Theory]
    [InlineData("\"sub\":\"X\"")]
    [InlineData("\"s\\u0075b\":\"X\"")]
    [InlineData("\"jti\":\"a\",\"jti\":\"b\"")]
    public async Task A_claim_named_twice_even_through_an_escape_is_refused(string extra)
    {
        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(CompactToken.Create(_root, Claims(_root, _agent)).Split('.')[1]));
        var forged = "{" + extra.Replace("X", Id(_agent), StringComparison.Ordinal) + "," + payload[1..];
        var input = CompactToken.Create(_root, Claims(_root, _agent)).Split('.')[0] + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(forged));
        var token = input + "." + Base64Url.EncodeToString(_root.Sign(Encoding.ASCII.GetBytes(input)));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token)));
    }

    [Fact]
    public void Header_is_exactly_the_AIP_header()
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        var header = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.AsSpan(0, token.IndexOf('.'))));
        Assert.Equal("""{"alg":"EdDSA","typ":"aip+jwt"}""", header);
    }

    [Theory]
    [InlineData("tool:delete", AipErrorCodes.ScopeInsufficient)]
    [InlineData("tool", AipErrorCodes.ScopeInsufficient)]
    [InlineData("tool:search:extra", AipErrorCodes.ScopeInsufficient)]
    public async Task Tool_outside_scope_is_refused_with_403_code(string tool, string code)
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        var error = await Assert.ThrowsAsync<AipException>(async () => await Verifier(_clock, _root).VerifyAsync(token, new AipAccessRequest(tool)));
        Assert.Equal(code, error.Code);
        Assert.Equal(403, error.HttpStatus);
    }

    [Fact]
    public async Task Prefix_pattern_allows_tools_under_it()
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent, ["db:*"]));
        var verifier = Verifier(_clock, _root);
        Assert.True((await verifier.VerifyAsync(token, new AipAccessRequest("db:read"))).Allows("db:write"));
        Assert.Equal(AipErrorCodes.ScopeInsufficient, await CodeOf(async () => await verifier.VerifyAsync(token, new AipAccessRequest("dbx:read"))));
    }

    [Fact]
    public async Task Cost_above_budget_is_refused()
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent, budget: 1m));
        Assert.Equal(AipErrorCodes.BudgetExceeded, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token, new AipAccessRequest("tool:search", 1.01m))));
    }

    [Fact]
    public async Task Expired_token_is_refused_after_clock_skew_also_when_cached()
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent, ttl: TimeSpan.FromMinutes(10)));
        var verifier = Verifier(_clock, _root);
        await verifier.VerifyAsync(token);
        _clock.Now = T0.AddMinutes(10).AddSeconds(59);
        await verifier.VerifyAsync(token);
        _clock.Now = T0.AddMinutes(11).AddSeconds(1);
        Assert.Equal(AipErrorCodes.TokenExpired, await CodeOf(async () => await verifier.VerifyAsync(token)));
        Assert.Equal(AipErrorCodes.TokenExpired, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token)));
    }

    [Fact]
    public async Task Lifetime_over_an_hour_is_malformed()
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent, ttl: TimeSpan.FromMinutes(61)));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token)));
    }

    [Fact]
    public async Task Token_issued_in_the_future_is_refused()
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent, iat: T0.AddMinutes(5)));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token)));
    }

    [Fact]
    public async Task Untrusted_root_is_unresolvable()
    {
        var token = CompactToken.Create(_agent, Claims(_agent, _root));
        var error = await Assert.ThrowsAsync<AipException>(async () => await Verifier(_clock, _root).VerifyAsync(token));
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, error.Code);
        Assert.Equal(401, error.HttpStatus);
    }

    [Fact]
    public async Task Missing_token_is_its_own_code()
    {
        Assert.Equal(AipErrorCodes.TokenMissing, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(null)));
        Assert.Equal(AipErrorCodes.TokenMissing, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync("  ")));
    }

    [Fact]
    public async Task Cached_token_still_sees_a_later_revocation()
    {
        var revocation = new InMemoryRevocationSource(_clock);
        var verifier = new AipVerifier(new AipVerifierOptions
        {
            TimeProvider = _clock,
            TrustStore = new Identity.InMemoryTrustStore(Id(_root)),
            Revocation = revocation,
        });
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        await verifier.VerifyAsync(token);
        await verifier.VerifyAsync(token);
        Assert.Equal(1, verifier.CachedTokens);

        revocation.Revoke(Id(_root));
        Assert.Equal(AipErrorCodes.KeyRevoked, await CodeOf(async () => await verifier.VerifyAsync(token)));
    }

    [Fact]
    public async Task Revoked_subject_is_refused()
    {
        var revocation = new InMemoryRevocationSource(_clock);
        revocation.Revoke(Id(_agent));
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new Identity.InMemoryTrustStore(Id(_root)), Revocation = revocation });
        Assert.Equal(AipErrorCodes.KeyRevoked, await CodeOf(async () => await verifier.VerifyAsync(CompactToken.Create(_root, Claims(_root, _agent)))));
    }

    [Fact]
    public async Task Stale_or_failing_revocation_source_fails_closed()
    {
        var stale = new StaleSource(T0.AddMinutes(-10));
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new Identity.InMemoryTrustStore(Id(_root)), Revocation = stale });
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        Assert.Equal(AipErrorCodes.KeyRevoked, await CodeOf(async () => await verifier.VerifyAsync(token)));

        var failing = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new Identity.InMemoryTrustStore(Id(_root)), Revocation = new FailingSource() });
        Assert.Equal(AipErrorCodes.KeyRevoked, await CodeOf(async () => await failing.VerifyAsync(token)));
    }

    [Fact]
    public async Task Cache_is_keyed_by_exact_text_so_a_tampered_copy_is_verified_afresh()
    {
        var verifier = Verifier(_clock, _root);
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        await verifier.VerifyAsync(token);
        var tampered = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];
        var code = await CodeOf(async () => await verifier.VerifyAsync(tampered));
        Assert.Contains(code, new[] { AipErrorCodes.SignatureInvalid, AipErrorCodes.TokenMalformed });
    }

    [Fact]
    public async Task Cache_stays_bounded()
    {
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new Identity.InMemoryTrustStore(Id(_root)), CacheCapacity = 4 });
        for (var i = 0; i < 10; i++)
        {
            await verifier.VerifyAsync(CompactToken.Create(_root, Claims(_root, _agent, iat: T0.AddSeconds(i))));
            Assert.True(verifier.CachedTokens <= 4);
        }
    }

    [Fact]
    public void Create_refuses_invalid_claims()
    {
        Assert.Throws<ArgumentException>(() => CompactToken.Create(_root, Claims(_root, _agent, [])));
        Assert.Throws<ArgumentException>(() => CompactToken.Create(_root, Claims(_root, _agent, ["*"])));
        Assert.Throws<ArgumentException>(() => CompactToken.Create(_root, Claims(_root, _agent, budget: -1m)));
        Assert.Throws<ArgumentException>(() => CompactToken.Create(_root, Claims(_root, _agent, maxDepth: -1)));
        Assert.Throws<ArgumentException>(() => CompactToken.Create(_agent, Claims(_root, _agent)));
    }

    [Fact]
    public void Decode_reads_without_trusting()
    {
        var claims = CompactToken.Decode(CompactToken.Create(_root, Claims(_root, _agent)));
        Assert.Equal(Id(_agent), claims.Subject);
        Assert.Equal(T0, claims.IssuedAt);
    }

    [Fact]
    public void Error_json_has_code_and_message()
    {
        var error = new AipException(AipErrorCodes.DepthExceeded, "too \"deep\"");
        Assert.Equal("""{"error":{"code":"aip_depth_exceeded","message":"too \"deep\""}}""", error.ToErrorJson());
        Assert.Equal("""{"error":{"code":"aip_scope_insufficient","message":"'a:b' is <not> granted"}}""", new AipException(AipErrorCodes.ScopeInsufficient, "'a:b' is <not> granted").ToErrorJson());
        Assert.Equal(403, error.HttpStatus);
    }

    private sealed class StaleSource(DateTimeOffset asOf) : IRevocationSource
    {
        public ValueTask<RevocationSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new RevocationSnapshot(new HashSet<string>(), asOf, 1));
    }

    private sealed class FailingSource : IRevocationSource
    {
        public ValueTask<RevocationSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default) =>
            throw new HttpRequestException("down");
    }
}
