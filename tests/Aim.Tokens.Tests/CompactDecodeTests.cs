using System.Text;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Revocation;
using Aim.Tokens.Tests.Adversarial;
using Aim.Tokens.Verification;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

/// <summary>
/// The allocation-free compact decoder (stack buffers, Utf8JsonReader over the decoded claims, header compared as text)
/// and the synchronous verification path: the same strictness and the same codes as the JSON-document decoder before it.
/// </summary>
public sealed class CompactDecodeTests
{
    private readonly ManualClock _clock = new(T0.AddMinutes(1));
    private readonly Aim.Crypto.Ed25519KeyPair _root = FromByte(1);
    private readonly Aim.Crypto.Ed25519KeyPair _agent = FromByte(2);

    private static async Task<string> CodeOf(Func<Task> action) => (await Assert.ThrowsAsync<AipException>(action)).Code;

    private string Signed(string payload, string header = RawJws.Header) => RawJws.Sign(header, payload, _root);

    private string Payload(string scopeJson = """["tool:search","tool:fetch"]""", string extra = "") => RawJws.Payload(Id(_root), Id(_agent), scopeJson, extra: extra);

    [Theory]
    [InlineData("""{"typ":"aip+jwt","alg":"EdDSA"}""")]
    [InlineData("""{ "alg" : "EdDSA", "typ" : "aip+jwt" }""")]
    [InlineData("""{"alg":"Ed\u0044SA","typ":"aip+jwt"}""")]
    public async Task Another_spelling_of_the_one_allowed_header_still_verifies(string header)
    {
        var verified = await Verifier(_clock, _root).VerifyAsync(Signed(Payload(), header));
        Assert.Equal(Id(_agent), verified.Subject);
    }

    [Theory]
    [InlineData(""",{"x":1}""")]
    [InlineData(""" {"iss":"a"}""")]
    [InlineData(""",""")]
    public async Task Anything_after_the_claims_object_is_malformed(string trailer)
    {
        var token = Signed(Payload() + trailer);
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token)));
    }

    [Fact]
    public async Task Whitespace_after_the_claims_object_is_still_one_object()
    {
        Assert.NotNull(await Verifier(_clock, _root).VerifyAsync(Signed(Payload() + " \n")));
    }

    [Theory]
    [InlineData("""[]""")]
    [InlineData("""["tool:search",1]""")]
    [InlineData("""["tool:search",["tool:fetch"]]""")]
    [InlineData("""["tool:search",null]""")]
    [InlineData("""["tool:search","*"]""")]
    [InlineData("""["tool:search","tool: x"]""")]
    [InlineData("""{"tool:search":1}""")]
    [InlineData("""["tool:search\u0000"]""")]
    public async Task A_bad_scope_list_is_malformed(string scopeJson)
    {
        var token = Signed(Payload(scopeJson));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token)));
    }

    [Fact]
    public async Task Sixty_four_scopes_pass_and_sixty_five_are_malformed()
    {
        string Scopes(int n) => "[" + string.Join(",", Enumerable.Range(0, n).Select(i => $"\"tool:t{i}\"")) + "]";
        var ok = await Verifier(_clock, _root).VerifyAsync(Signed(Payload(Scopes(64))));
        Assert.Equal(64, ok.Scopes.Count);
        Assert.Equal("tool:t63", ok.Scopes[63]);

        var tooMany = Signed(Payload(Scopes(65)));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(tooMany)));
    }

    [Fact]
    public async Task Escaped_scopes_and_identifiers_read_as_their_text()
    {
        var payload = RawJws.Payload(Id(_root), Id(_agent).Replace("aip:", "aip\\u003a", StringComparison.Ordinal), """["tool:\u0073earch"]""");
        var verified = await Verifier(_clock, _root).VerifyAsync(Signed(payload), new AipAccessRequest("tool:search"));
        Assert.Equal(Id(_agent), verified.Subject);
        Assert.Equal(["tool:search"], verified.Scopes);
    }

    [Fact]
    public async Task Unknown_claims_of_any_shape_are_skipped_but_still_parsed()
    {
        var verified = await Verifier(_clock, _root).VerifyAsync(Signed(Payload(extra: ""","jti":"x","cnf":{"a":[1,{"b":null}]},"n":1.5e3""")));
        Assert.Equal(Id(_agent), verified.Subject);

        var tooDeep = Signed(Payload(extra: ""","x":{"a":{"b":{"c":{"d":1}}}}"""));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(tooDeep)));
        var broken = Signed(Payload(extra: ""","x":{"a":]"""));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(broken)));
    }

    [Theory]
    [InlineData("iss")]
    [InlineData("sub")]
    [InlineData("scope")]
    [InlineData("jti")]
    public async Task A_string_that_is_not_UTF8_is_malformed_not_a_crash(string where)
    {
        var payload = where switch
        {
            "iss" => RawJws.Payload("aip:key:\u00FFX", Id(_agent)),
            "sub" => RawJws.Payload(Id(_root), "aip:key:\u00FFX"),
            "scope" => RawJws.Payload(Id(_root), Id(_agent), "[\"tool:\u00FFX\"]"),
            _ => RawJws.Payload(Id(_root), Id(_agent), extra: ",\"jti\":\"\u00FFX\""),
        };

        // Encode as UTF-8, then turn the two bytes of U+00FF into a lone continuation byte and an invalid lead byte.
        var bytes = Encoding.UTF8.GetBytes(payload);
        var at = Array.IndexOf(bytes, (byte)0xC3);
        bytes[at] = 0xFF;
        bytes[at + 1] = 0x80;
        var token = RawJws.SignEncoded(RawJws.B64(RawJws.Header), RawJws.B64(bytes), _root);

        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(token)));
        Assert.Equal(AipErrorCodes.TokenMalformed, Assert.Throws<AipException>(() => CompactToken.Decode(token)).Code);
    }

    [Theory]
    [InlineData(85)]
    [InlineData(87)]
    [InlineData(88)]
    [InlineData(200)]
    public void A_signature_of_another_length_is_malformed(int characters)
    {
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        var input = token[..token.LastIndexOf('.')];
        var signature = new string('A', characters);
        Assert.Equal(AipErrorCodes.TokenMalformed, Assert.Throws<AipException>(() => CompactToken.Decode(input + "." + signature)).Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("ab")]
    [InlineData("abc")]
    [InlineData("\u00e9\u00e8")]
    public async Task Payloads_of_every_base64_tail_length_decode_to_their_claims(string note)
    {
        var payload = Payload(extra: $",\"note\":\"{note}\"");
        var token = Signed(payload);
        var verified = await Verifier(_clock, _root).VerifyAsync(token);
        Assert.Equal(Id(_agent), verified.Subject);
        Assert.Equal(["tool:search", "tool:fetch"], verified.Scopes);
        Assert.Equal(5m, verified.BudgetUsd);
    }

    [Theory]
    [InlineData('+', 0)]
    [InlineData('/', 1)]
    [InlineData('=', 1)]
    [InlineData(' ', 1)]
    [InlineData('\u00e9', 1)]
    [InlineData('\u0141', 2)]
    [InlineData('.', 0)]
    [InlineData('+', 2)]
    public void A_character_outside_base64url_in_any_part_is_malformed(char foreign, int part)
    {
        var parts = CompactToken.Create(_root, Claims(_root, _agent)).Split('.');
        var at = parts[part].Length / 2;
        parts[part] = parts[part][..at] + foreign + parts[part][(at + 1)..];
        var error = Assert.Throws<AipException>(() => CompactToken.Decode(string.Join('.', parts)));
        Assert.Equal(AipErrorCodes.TokenMalformed, error.Code);
    }

    [Fact]
    public void A_long_payload_decodes_through_the_pooled_buffer()
    {
        var padding = new string('x', 5000);
        var token = Signed(Payload(extra: $",\"note\":\"{padding}\""));
        Assert.True(token.Length < CompactToken.MaxLength);
        Assert.Equal(Id(_agent), CompactToken.Decode(token).Subject);
    }

    [Fact]
    public async Task A_long_token_is_verified_through_the_pooled_signing_input()
    {
        var padding = new string('x', 3000);
        var token = Signed(Payload(extra: $",\"note\":\"{padding}\""));
        Assert.True(token.Length > 2048);
        Assert.NotNull(await Verifier(_clock, _root).VerifyAsync(token));
    }

    [Fact]
    public void A_refusal_comes_back_as_a_faulted_task_not_a_synchronous_throw()
    {
        var verifier = Verifier(_clock, _root);
        var malformed = verifier.VerifyAsync("eyJ.eyJ.");
        Assert.True(malformed.IsFaulted);
        var missing = verifier.VerifyAsync(null);
        Assert.True(missing.IsFaulted);

        var good = verifier.VerifyAsync(CompactToken.Create(_root, Claims(_root, _agent)));
        Assert.True(good.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_revocation_source_that_answers_later_is_awaited_for_fresh_and_cached_tokens()
    {
        var source = new SlowSource(new InMemoryRevocationSource(_clock));
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new InMemoryTrustStore(Id(_root)), Revocation = source });
        var token = CompactToken.Create(_root, Claims(_root, _agent));

        Assert.Equal(Id(_agent), (await verifier.VerifyAsync(token)).Subject);
        Assert.Equal(Id(_agent), (await verifier.VerifyAsync(token)).Subject);
        Assert.Equal(1, verifier.CachedTokens);

        source.Inner.Revoke(Id(_agent));
        Assert.Equal(AipErrorCodes.KeyRevoked, await CodeOf(async () => await verifier.VerifyAsync(token)));
        Assert.Equal(3, source.Calls);
    }

    [Fact]
    public async Task A_revocation_source_that_faults_later_refuses()
    {
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new InMemoryTrustStore(Id(_root)), Revocation = new FaultingLaterSource() });
        var token = CompactToken.Create(_root, Claims(_root, _agent));
        Assert.Equal(AipErrorCodes.KeyRevoked, await CodeOf(async () => await verifier.VerifyAsync(token)));
        Assert.Equal(0, verifier.CachedTokens);
    }

    [Fact]
    public async Task Cancellation_from_a_synchronous_revocation_source_cancels()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new InMemoryTrustStore(Id(_root)), Revocation = new CancellingSource() });
        var pending = verifier.VerifyAsync(CompactToken.Create(_root, Claims(_root, _agent)), cancellationToken: cancelled.Token);
        Assert.True(pending.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
    }

    private sealed class SlowSource(InMemoryRevocationSource inner) : IRevocationSource
    {
        public InMemoryRevocationSource Inner => inner;

        public int Calls { get; private set; }

        public async ValueTask<RevocationSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default)
        {
            Calls++;
            await Task.Yield();
            return await inner.GetSnapshotAsync(cancellationToken);
        }
    }

    private sealed class FaultingLaterSource : IRevocationSource
    {
        public async ValueTask<RevocationSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            throw new HttpRequestException("down");
        }
    }

    private sealed class CancellingSource : IRevocationSource
    {
        public ValueTask<RevocationSnapshot> GetSnapshotAsync(CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new InvalidOperationException("not reached in this test");
        }
    }
    [Fact]
    public async Task A_null_budget_reads_as_absent()
    {
        var verified = await Verifier(_clock, _root).VerifyAsync(Signed(RawJws.Payload(Id(_root), Id(_agent), budget: "null")), new AipAccessRequest("tool:search", 1000m));
        Assert.Null(verified.BudgetUsd);
        var notANumber = Signed(RawJws.Payload(Id(_root), Id(_agent), budget: "\"5\""));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(notANumber)));
    }

    [Fact]
    public async Task The_lifetime_limit_is_an_option_with_a_one_hour_default()
    {
        var iat = T0.ToUnixTimeSeconds();
        var longLived = Signed(RawJws.Payload(Id(_root), Id(_agent), iat: iat, exp: iat + 3_000_000_000L / 1000 * 1000));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await Verifier(_clock, _root).VerifyAsync(longLived)));

        AipVerifier With(TimeSpan? limit) => new(new AipVerifierOptions
        {
            TimeProvider = _clock,
            TrustStore = new InMemoryTrustStore(Id(_root)),
            MaxLifetime = limit,
        });
        Assert.NotNull(await With(null).VerifyAsync(longLived));
        var twoHours = Signed(RawJws.Payload(Id(_root), Id(_agent), iat: iat, exp: iat + 7200));
        Assert.NotNull(await With(TimeSpan.FromHours(2)).VerifyAsync(twoHours));
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await With(TimeSpan.FromMinutes(119)).VerifyAsync(twoHours)));
    }
}
