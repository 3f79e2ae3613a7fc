using Aim.Tokens.Chained;
using Aim.Tokens.Identity;
using Aim.Tokens.Revocation;
using Aim.Tokens.Tests.Adversarial;
using Aim.Tokens.Verification;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

public sealed class ChainedTokenTests
{
    private readonly ManualClock _clock = new(T0.AddMinutes(1));
    private readonly Aim.Crypto.Ed25519KeyPair _user = FromByte(1);
    private readonly Aim.Crypto.Ed25519KeyPair _orchestrator = FromByte(2);
    private readonly Aim.Crypto.Ed25519KeyPair _specialist = FromByte(3);
    private readonly Aim.Crypto.Ed25519KeyPair _stranger = FromByte(4);

    private string Root(int maxDepth = 3, decimal? budget = 5m, string[]? scopes = null) =>
        ChainedToken.Create(_user, new AipAuthority(Id(_user), scopes ?? ["tool:search", "tool:fetch"], maxDepth, T0.AddMinutes(30), budget));

    private string TwoHops() =>
        ChainedToken.Delegate(
            ChainedToken.Delegate(Root(), _user, new AipDelegation(Id(_orchestrator), ["tool:search", "tool:fetch"], "plan the trip", 5m)),
            _orchestrator, new AipDelegation(Id(_specialist), ["tool:search"], "find flights", 1m, T0.AddMinutes(20)));

    private static async Task<string> CodeOf(Func<Task> action) => (await Assert.ThrowsAsync<AipException>(action)).Code;

    [Fact]
    public async Task Two_hop_chain_verifies_with_narrowed_scope_budget_and_expiry()
    {
        var verified = await Verifier(_clock, _user).VerifyAsync(TwoHops(), new AipAccessRequest("tool:search", 0.5m));

        Assert.Equal(AipTokenMode.Chained, verified.Mode);
        Assert.Equal(Id(_user), verified.Issuer);
        Assert.Equal(Id(_specialist), verified.Subject);
        Assert.Equal(["tool:search"], verified.Scopes);
        Assert.Equal(1m, verified.BudgetUsd);
        Assert.Equal(T0.AddMinutes(20), verified.ExpiresAt);
        Assert.Equal(2, verified.Depth);
        Assert.Equal("find flights", verified.Hops[1].Context);
        Assert.Contains("find flights", verified.DescribeProvenance(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Narrowed_chain_refuses_the_dropped_tool_and_a_cost_over_the_hop_budget()
    {
        var verifier = Verifier(_clock, _user);
        Assert.Equal(AipErrorCodes.ScopeInsufficient, await CodeOf(async () => await verifier.VerifyAsync(TwoHops(), new AipAccessRequest("tool:fetch"))));
        Assert.Equal(AipErrorCodes.BudgetExceeded, await CodeOf(async () => await verifier.VerifyAsync(TwoHops(), new AipAccessRequest("tool:search", 2m))));
    }

    [Fact]
    public async Task Prefix_patterns_narrow_to_literals()
    {
        var token = ChainedToken.Delegate(Root(scopes: ["tool:*"]), _user, new AipDelegation(Id(_orchestrator), ["tool:web:*"], "web only"));
        var verifier = Verifier(_clock, _user);
        Assert.True((await verifier.VerifyAsync(token, new AipAccessRequest("tool:web:search"))).Allows("tool:web:x"));
        Assert.Equal(AipErrorCodes.ScopeInsufficient, await CodeOf(async () => await verifier.VerifyAsync(token, new AipAccessRequest("tool:db:read"))));
    }

    [Fact]
    public void Honest_delegate_refuses_every_widening()
    {
        var root = Root(maxDepth: 1);
        Assert.Equal(AipErrorCodes.ScopeInsufficient, Assert.Throws<AipException>(() => ChainedToken.Delegate(root, _user, new AipDelegation(Id(_orchestrator), ["tool:delete"], "x"))).Code);
        Assert.Equal(AipErrorCodes.BudgetExceeded, Assert.Throws<AipException>(() => ChainedToken.Delegate(root, _user, new AipDelegation(Id(_orchestrator), ["tool:search"], "x", 6m))).Code);
        Assert.Equal(AipErrorCodes.TokenExpired, Assert.Throws<AipException>(() => ChainedToken.Delegate(root, _user, new AipDelegation(Id(_orchestrator), ["tool:search"], "x", null, T0.AddHours(2)))).Code);
        Assert.Equal(AipErrorCodes.TokenMalformed, Assert.Throws<AipException>(() => ChainedToken.Delegate(root, _user, new AipDelegation(Id(_orchestrator), ["tool:search"], " "))).Code);
        Assert.Equal(AipErrorCodes.SignatureInvalid, Assert.Throws<AipException>(() => ChainedToken.Delegate(root, _stranger, new AipDelegation(Id(_orchestrator), ["tool:search"], "x"))).Code);
        var one = ChainedToken.Delegate(root, _user, new AipDelegation(Id(_orchestrator), ["tool:search"], "x"));
        Assert.Equal(AipErrorCodes.DepthExceeded, Assert.Throws<AipException>(() => ChainedToken.Delegate(one, _orchestrator, new AipDelegation(Id(_specialist), ["tool:search"], "y"))).Code);
    }

    [Fact]
    public async Task Completion_block_closes_the_chain_and_is_reported()
    {
        var done = ChainedToken.Complete(TwoHops(), _specialist, new AipCompletion("success", "sha256:abcd", 0.42m, 1200, 3500));
        var verified = await Verifier(_clock, _user).VerifyAsync(done);
        Assert.Equal(new AipCompletion("success", "sha256:abcd", 0.42m, 1200, 3500), verified.Completion);
        Assert.Equal(AipErrorCodes.TokenMalformed, Assert.Throws<AipException>(() => ChainedToken.Delegate(done, _specialist, new AipDelegation(Id(_stranger), ["tool:search"], "z"))).Code);
        Assert.Equal(AipErrorCodes.SignatureInvalid, Assert.Throws<AipException>(() => ChainedToken.Complete(TwoHops(), _orchestrator, new AipCompletion("success", null, null, null, null))).Code);
    }

    [Fact]
    public async Task Chain_expires_with_its_earliest_block()
    {
        _clock.Now = T0.AddMinutes(21).AddSeconds(1);
        Assert.Equal(AipErrorCodes.TokenExpired, await CodeOf(async () => await Verifier(_clock, _user).VerifyAsync(TwoHops())));
    }

    [Fact]
    public async Task Untrusted_root_and_revoked_delegator_are_refused()
    {
        Assert.Equal(AipErrorCodes.IdentityUnresolvable, await CodeOf(async () => await Verifier(_clock, _stranger).VerifyAsync(TwoHops())));

        var revocation = new InMemoryRevocationSource(_clock);
        var verifier = new AipVerifier(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new InMemoryTrustStore(Id(_user)), Revocation = revocation });
        await verifier.VerifyAsync(TwoHops());
        revocation.Revoke(Id(_orchestrator));
        Assert.Equal(AipErrorCodes.KeyRevoked, await CodeOf(async () => await verifier.VerifyAsync(TwoHops())));
    }

    [Theory]
    [InlineData(AipPolicyProfile.Simple)]
    [InlineData(AipPolicyProfile.Standard)]
    [InlineData(AipPolicyProfile.Advanced)]
    public async Task Each_policy_profile_allows_in_scope_and_refuses_out_of_scope(AipPolicyProfile profile)
    {
        var verifier = new AipVerifier(new AipVerifierOptions
        {
            TimeProvider = _clock,
            TrustStore = new InMemoryTrustStore(Id(_user)),
            PolicyProfile = profile,
            AdvancedPolicy = profile == AipPolicyProfile.Advanced ? "check if depth($d), $d <= 2" : null,
            CacheCapacity = 0,
        });
        await verifier.VerifyAsync(TwoHops(), new AipAccessRequest("tool:search"));
        Assert.Equal(AipErrorCodes.ScopeInsufficient, await CodeOf(async () => await verifier.VerifyAsync(TwoHops(), new AipAccessRequest("tool:fetch"))));
    }

    [Fact]
    public async Task Advanced_profile_enforces_caller_policy()
    {
        var verifier = new AipVerifier(new AipVerifierOptions
        {
            TimeProvider = _clock,
            TrustStore = new InMemoryTrustStore(Id(_user)),
            PolicyProfile = AipPolicyProfile.Advanced,
            AdvancedPolicy = "check if depth($d), $d <= 1",
        });
        Assert.Equal(AipErrorCodes.ScopeInsufficient, await CodeOf(async () => await verifier.VerifyAsync(TwoHops(), new AipAccessRequest("tool:search"))));
    }

    [Fact]
    public void Describe_prints_blocks_and_says_which_are_attested()
    {
        var text = ChainedToken.Describe(TwoHops());
        Assert.Contains("block 0 (authority):", text, StringComparison.Ordinal);
        Assert.Contains("find flights", text, StringComparison.Ordinal);
        Assert.Contains("block 2 (appended):", text, StringComparison.Ordinal);
        Assert.Contains($"attested: signed by {Id(_orchestrator)}", ChainedToken.Describe(AttestedTwoHops()), StringComparison.Ordinal);
    }

    private string AttestedTwoHops() =>
        ChainedToken.Delegate(
            ChainedToken.Delegate(Root(), _user, new AipDelegation(Id(_orchestrator), ["tool:search", "tool:fetch"], "plan the trip", 5m), AipBlockForm.Attested),
            _orchestrator, new AipDelegation(Id(_specialist), ["tool:search"], "find flights", 1m, T0.AddMinutes(20)), AipBlockForm.Attested);

    private AipVerifier RequiringAttestation() =>
        new(new AipVerifierOptions { TimeProvider = _clock, TrustStore = new InMemoryTrustStore(Id(_user)), RequireAttestation = true, CacheCapacity = 0 });

    [Fact]
    public void Standard_form_appends_ordinary_blocks_and_attested_form_third_party_blocks()
    {
        var standard = ChainedToken.ParseUnverified(TwoHops());
        Assert.All(standard.Blocks, b => Assert.Null(b.ExternalKey));
        var attested = ChainedToken.ParseUnverified(AttestedTwoHops());
        Assert.Equal(Id(_user), Identity.AipIdentifier.ForKey(attested.Blocks[1].ExternalKey!.Bytes));
        Assert.Equal(Id(_orchestrator), Identity.AipIdentifier.ForKey(attested.Blocks[2].ExternalKey!.Bytes));
    }

    [Fact]
    public async Task Both_forms_verify_to_the_same_effective_authority()
    {
        var verifier = Verifier(_clock, _user);
        var standard = await verifier.VerifyAsync(TwoHops(), new AipAccessRequest("tool:search", 0.5m));
        var attested = await verifier.VerifyAsync(AttestedTwoHops(), new AipAccessRequest("tool:search", 0.5m));
        Assert.Equal(standard.Subject, attested.Subject);
        Assert.Equal(standard.Scopes, attested.Scopes);
        Assert.Equal(standard.BudgetUsd, attested.BudgetUsd);
        Assert.Equal(standard.ExpiresAt, attested.ExpiresAt);
        Assert.Equal(Describe(standard.Hops), Describe(attested.Hops));
    }

    private static List<string> Describe(IReadOnlyList<AipDelegationHop> hops) =>
        hops.Select(h => $"{h.Delegator}>{h.Delegate} [{string.Join(",", h.Scopes)}] {h.Context} {h.BudgetUsd} {h.ExpiresAt:O}").ToList();


    [Fact]
    public async Task Required_attestation_refuses_appended_blocks_and_accepts_attested_ones()
    {
        var verifier = RequiringAttestation();
        Assert.Equal(Id(_specialist), (await verifier.VerifyAsync(AttestedTwoHops(), new AipAccessRequest("tool:search"))).Subject);
        Assert.Equal(AipErrorCodes.SignatureInvalid, await CodeOf(async () => await verifier.VerifyAsync(TwoHops())));

        // A chain that mixes forms is refused at its first appended block.
        var mixed = ChainedToken.Delegate(
            ChainedToken.Delegate(Root(), _user, new AipDelegation(Id(_orchestrator), ["tool:search"], "attested hop"), AipBlockForm.Attested),
            _orchestrator, new AipDelegation(Id(_specialist), ["tool:search"], "appended hop"));
        Assert.Equal(Id(_specialist), (await Verifier(_clock, _user).VerifyAsync(mixed)).Subject);
        Assert.Equal(AipErrorCodes.SignatureInvalid, await CodeOf(async () => await verifier.VerifyAsync(mixed)));

        var completed = ChainedToken.Complete(AttestedTwoHops(), _specialist, new AipCompletion("success", null, 0.1m, null, null));
        Assert.Equal(AipErrorCodes.SignatureInvalid, await CodeOf(async () => await verifier.VerifyAsync(completed)));
        var attestedCompletion = ChainedToken.Complete(AttestedTwoHops(), _specialist, new AipCompletion("success", null, 0.1m, null, null), AipBlockForm.Attested);
        Assert.Equal("success", (await verifier.VerifyAsync(attestedCompletion)).Completion!.Status);
    }

    [Theory]
    [InlineData(Aim.Biscuit.VerificationConcurrency.SingleThreaded)]
    [InlineData(Aim.Biscuit.VerificationConcurrency.Concurrent)]
    public async Task Both_verification_schedules_accept_honest_chains_and_refuse_tampered_ones(Aim.Biscuit.VerificationConcurrency concurrency)
    {
        var verifier = new AipVerifier(new AipVerifierOptions
        {
            TimeProvider = _clock, TrustStore = new InMemoryTrustStore(Id(_user)), CacheCapacity = 0, ChainVerificationConcurrency = concurrency,
        });
        Assert.Equal(Id(_specialist), (await verifier.VerifyAsync(AttestedTwoHops(), new AipAccessRequest("tool:search"))).Subject);
        Assert.Equal(Id(_specialist), (await verifier.VerifyAsync(TwoHops(), new AipAccessRequest("tool:search"))).Subject);
        var bytes = Convert.FromBase64String(Pad(TwoHops()));
        var at = bytes.AsSpan().IndexOf("find flights"u8);
        "find flighTs"u8.CopyTo(bytes.AsSpan(at));
        var tampered = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(AipErrorCodes.SignatureInvalid, await CodeOf(async () => await verifier.VerifyAsync(tampered)));
    }

    [Fact]
    public void Unknown_block_form_is_refused()
    {
        Assert.Throws<ArgumentException>(() => ChainedToken.Delegate(Root(), _user, new AipDelegation(Id(_orchestrator), ["tool:search"], "x"), (AipBlockForm)7));
        Assert.Throws<ArgumentException>(() => ChainedToken.Complete(Root(), _user, new AipCompletion("ok", null, null, null, null), (AipBlockForm)7));
    }

    [Fact]
    public async Task Verifier_reads_the_root_from_a_full_decode_when_the_identity_hint_does_not_hold()
    {
        // The authority block names the trusted root, but another key signs it: the hinted key fails, the full path answers.
        using var other = FromByte(9);
        var forged = Aim.Tokens.Tests.Adversarial.RawBiscuit.Text(Aim.Tokens.Tests.Adversarial.RawBiscuit.Authority(other,
            Aim.Tokens.Tests.Adversarial.ChainedAttacks.AuthorityCode(Id(_user), ["tool:search"])));
        Assert.Equal(AipErrorCodes.SignatureInvalid, await CodeOf(async () => await Verifier(_clock, _user).VerifyAsync(forged)));
        Assert.Null(AuthorityIdentityHint.TryRead([0x12, 0xFF]));
        Assert.Null(AuthorityIdentityHint.TryRead([]));
        Assert.Equal(Id(_user), AuthorityIdentityHint.TryRead(Convert.FromBase64String(Pad(Root()))));
    }

    private static string Pad(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }

    [Fact]
    public void Blocks_are_written_in_the_drafts_canonical_templates()
    {
        var root = ChainedToken.Create(_user, new AipAuthority(Id(_user), ["tool:search", "tool:*", "report:daily"], 2, T0.AddMinutes(30), 5m, Principal: "user:alice"));
        var chain = ChainedToken.Delegate(root, _user, new AipDelegation(Id(_orchestrator), ["tool:search", "report:daily"], "plan", 1m, T0.AddMinutes(20)));
        var blocks = Aim.Biscuit.BiscuitToken.FromBase64Unverified(chain).Blocks;
        Assert.Equal(
            $"identity(\"{Id(_user)}\");\nprincipal(\"user:alice\");\nright(\"tool:search\");\nright(\"tool:*\");\nright(\"report:daily\");\nmax_depth(2);\nbudget_ceiling(500);\n" +
            "check if tool($t), [\"tool:search\", \"report:daily\"].contains($t) or tool($t), $t.starts_with(\"tool:\");\n" +
            "check if time($t), $t <= 2026-11-21T12:30:00Z;\n",
            blocks[0].ToString());
        Assert.Equal(
            $"delegator(\"{Id(_user)}\");\ndelegate(\"{Id(_orchestrator)}\");\ncontext(\"plan\");\nbudget_ceiling(100);\n" +
            "check if tool($t), [\"tool:search\", \"report:daily\"].contains($t);\ncheck if time($t), $t <= 2026-11-21T12:20:00Z;\n",
            blocks[1].ToString());

        // biscuit-rust writes version 3 for blocks whose only newer feature is an array; so do we.
        Assert.Equal(3u, blocks[0].Version);
        Assert.Equal(3u, blocks[1].Version);
    }

    [Fact]
    public async Task Reference_shaped_blocks_with_a_bare_star_and_principal_verify()
    {
        // As the AIP reference writes them: a bare '*' is the clause tool($t), a delegation without a time check, principals.
        var authority = $"identity(\"{Id(_user)}\");principal(\"p\");right(\"*\");max_depth(2);check if tool($t);check if time($t), $t <= {ChainedAttacks.Date(T0.AddMinutes(30))};";
        var root = RawBiscuit.Authority(_user, authority);
        var hop = RawBiscuit.FirstParty(root, $"delegator(\"{Id(_user)}\");delegate(\"{Id(_orchestrator)}\");context(\"c\");principal(\"p\");check if tool($t), $t.starts_with(\"db\");");
        var verifier = Verifier(_clock, _user);
        var verified = await verifier.VerifyAsync(RawBiscuit.Text(hop), new AipAccessRequest("db.read"));
        Assert.Equal(["db*"], verified.Scopes);
        Assert.Equal(AipErrorCodes.ScopeInsufficient, await CodeOf(async () => await verifier.VerifyAsync(RawBiscuit.Text(hop), new AipAccessRequest("tool:x"))));

        var swapped = RawBiscuit.FirstParty(root, $"delegator(\"{Id(_user)}\");delegate(\"{Id(_orchestrator)}\");context(\"c\");principal(\"q\");check if tool($t), [\"a\"].contains($t);");
        Assert.Equal(AipErrorCodes.TokenMalformed, await CodeOf(async () => await verifier.VerifyAsync(RawBiscuit.Text(swapped))));
    }

    [Fact]
    public async Task Negative_budget_ceilings_are_budget_exceeded_as_the_reference_reports_them()
    {
        var verifier = Verifier(_clock, _user);
        var negativeRoot = RawBiscuit.Authority(_user, ChainedAttacks.AuthorityCode(Id(_user), ["tool:search"], budgetCents: -5));
        Assert.Equal(AipErrorCodes.BudgetExceeded, await CodeOf(async () => await verifier.VerifyAsync(RawBiscuit.Text(negativeRoot))));
        var negativeHop = RawBiscuit.FirstParty(RawBiscuit.Authority(_user, ChainedAttacks.AuthorityCode(Id(_user), ["tool:search"])),
            ChainedAttacks.DelegationCode(Id(_user), Id(_orchestrator), "c", ["tool:search"], budgetCents: -1));
        Assert.Equal(AipErrorCodes.BudgetExceeded, await CodeOf(async () => await verifier.VerifyAsync(RawBiscuit.Text(negativeHop))));
    }

    [Fact]
    public void Completion_blocks_carry_a_context_for_readers_that_take_them_for_delegations()
    {
        var done = ChainedToken.Complete(ChainedToken.Delegate(Root(), _user, new AipDelegation(Id(_orchestrator), ["tool:search"], "c")), _orchestrator,
            new AipCompletion("completed", "sha256:00", 0.03m, 1200, 4500));
        var block = Aim.Biscuit.BiscuitToken.FromBase64Unverified(done).Blocks[2];
        Assert.Contains("context(\"completion\");", block.ToString(), StringComparison.Ordinal);
        Assert.Empty(block.Checks);
    }
}

public sealed class AdvancedProfileLimitTests
{
    [Fact]
    public async Task Advanced_policy_that_runs_past_its_iteration_cap_is_refused()
    {
        var clock = new ManualClock(TestKeys.T0.AddMinutes(1));
        using var user = TestKeys.FromByte(1);
        var token = ChainedToken.Create(user, new AipAuthority(TestKeys.Id(user), ["tool:search"], 1, TestKeys.T0.AddMinutes(30)));
        var verifier = new AipVerifier(new AipVerifierOptions
        {
            TimeProvider = clock,
            TrustStore = new InMemoryTrustStore(TestKeys.Id(user)),
            PolicyProfile = AipPolicyProfile.Advanced,
            AdvancedIterationCap = 3,
            // A chain of 20 rules, declared last-first, so each fixpoint iteration derives one more link.
            AdvancedPolicy = "a0(true); " + string.Concat(Enumerable.Range(1, 20).Reverse().Select(i => $"a{i}($x) <- a{i - 1}($x); ")) + "check if a20(true);",
        });
        var error = await Assert.ThrowsAsync<AipException>(async () => await verifier.VerifyAsync(token, new AipAccessRequest("tool:search")));
        Assert.Equal(AipErrorCodes.ScopeInsufficient, error.Code);
        Assert.IsType<Aim.Biscuit.BiscuitRunLimitException>(error.InnerException);

        verifier.Options.AdvancedIterationCap = 100;
        Assert.Equal(TestKeys.Id(user), (await verifier.VerifyAsync(token, new AipAccessRequest("tool:search"))).Issuer);
    }
}
