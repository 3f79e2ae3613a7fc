using Aim.Biscuit;
using Aim.Biscuit.Datalog;
using Aim.Tokens.Chained;
using Aim.Tokens.Identity;
using BiscuitToken = Aim.Biscuit.BiscuitToken;

namespace Aim.Tokens.Verification;

public sealed partial class AipVerifier
{
    private async ValueTask<AipVerifiedToken> VerifyChainedAsync(string token, DateTimeOffset now, AipAccessRequest? request, CancellationToken ct)
    {
        byte[] bytes;
        try
        {
            bytes = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan().Trim().TrimEnd('='));
        }
        catch (Exception ex) when (ex is BiscuitException or FormatException or ArgumentException)
        {
            throw AipException.Malformed("The token is neither a compact token nor base64url Biscuit.", ex);
        }

        // V1: the Biscuit signature chain under the root identity's key. An aip:key root is found from the bytes (a hint
        // that must be confirmed by the verified token, see AuthorityIdentityHint), so the token is decoded once; any
        // other case reads the identity from a full unverified decode first.
        var parseOptions = ParseOptions();
        var (verified, root, rootSigner) = TryVerifyWithIdentityHint(bytes, parseOptions)
            ?? await VerifySignaturesAsync(bytes, parseOptions, now, ct).ConfigureAwait(false);

        var model = AipChainModel.Read(verified);

        // V1 (blocks): the chain of holders. Each delegation comes from the current holder and each completion from the
        // last one. An attested (third-party) block must be signed by the agent it names; an ordinary appended block
        // proves nothing about its author, so it must at least be consistent with the chain, and is refused outright
        // when the verifier requires attestation.
        var holder = model.Authority.Subject ?? model.Authority.Identity;
        var signers = new List<string>(model.Delegations.Count + verified.Blocks.Count + 2) { root.Value };
        if (rootSigner != root.Value)
        {
            signers.Add(rootSigner);
        }

        foreach (var d in model.Delegations)
        {
            RequireFromHolder(d.ExternalKey, d.Delegator, holder, d.BlockIndex, "delegated");
            if (!AipIdentifier.TryParse(d.Delegate, out _))
            {
                throw AipException.Malformed($"Block {d.BlockIndex}: the delegate is not an AIP identifier.");
            }

            signers.Add(d.Delegator);
            holder = d.Delegate;
        }

        if (model.Completion is { } c)
        {
            RequireFromHolder(c.ExternalKey, c.CompletedBy, holder, c.BlockIndex, "completed");
        }

        // V2: the root must be trusted.
        if (!_options.TrustStore.IsTrustedRoot(root.Value))
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, $"The root {root} is not a trusted root.");
        }

        // V3: depth.
        var depth = model.Delegations.Count;
        if (depth > model.Authority.MaxDepth || depth > _options.MaxChainBlocks)
        {
            throw new AipException(AipErrorCodes.DepthExceeded, $"The chain has {depth} delegations; max_depth is {model.Authority.MaxDepth}.");
        }

        // V4: the structural attenuation walk, on each block's own facts.
        var scopes = model.Authority.Scopes;
        var budget = model.Authority.BudgetCents;
        var expires = model.Authority.ExpiresAt;
        var principal = model.Authority.Principal;
        if (budget < 0)
        {
            throw new AipException(AipErrorCodes.BudgetExceeded, "The authority's budget ceiling is negative.");
        }

        var hops = new List<AipDelegationHop>(depth);
        foreach (var d in model.Delegations)
        {
            if (!AipScope.IsSubset(d.Scopes, scopes))
            {
                throw new AipException(AipErrorCodes.ScopeInsufficient, $"Block {d.BlockIndex} widens the scope of its parent.");
            }

            // The on-behalf-of principal never changes along the chain (the draft; the reference refuses it as malformed).
            if (d.Principal is { } p)
            {
                if (principal is not null && !string.Equals(p, principal, StringComparison.Ordinal))
                {
                    throw AipException.Malformed($"Block {d.BlockIndex} substitutes the principal.");
                }

                principal = p;
            }

            if (d.BudgetCents is { } b)
            {
                if (b < 0)
                {
                    throw new AipException(AipErrorCodes.BudgetExceeded, $"Block {d.BlockIndex} has a negative budget ceiling.");
                }

                if (budget is { } parentBudget && b > parentBudget)
                {
                    throw new AipException(AipErrorCodes.BudgetExceeded, $"Block {d.BlockIndex} raises the budget above an ancestor's.");
                }

                budget = b;
            }

            if (d.ExpiresAt is { } e)
            {
                if (e > expires)
                {
                    throw new AipException(AipErrorCodes.TokenExpired, $"Block {d.BlockIndex} expires later than its parent.");
                }

                expires = e;
            }

            scopes = d.Scopes;
            hops.Add(new AipDelegationHop(d.Delegator, d.Delegate, d.Context, d.Scopes,
                d.BudgetCents is { } hb ? AipBlockTemplates.FromCents(hb) : null, d.ExpiresAt));
        }

        if (now > expires + _options.ClockSkew)
        {
            throw new AipException(AipErrorCodes.TokenExpired, "The chain has expired.");
        }

        // V5: every delegation says why.
        foreach (var d in model.Delegations)
        {
            if (string.IsNullOrWhiteSpace(d.Context))
            {
                throw AipException.Malformed($"Block {d.BlockIndex} has an empty context.");
            }
        }

        // V6: the Datalog policy with ambient tool, time and depth (only when a tool is asked for).
        if (request?.Tool is { } tool)
        {
            RunPolicy(verified, tool, now, depth);
        }

        AipCompletion? completion = model.Completion is { } done
            ? new AipCompletion(done.Status, done.ResultHash, done.CostCents is { } cc ? AipBlockTemplates.FromCents(cc) : null, done.Tokens, done.DurationMs)
            : null;
        foreach (var id in verified.RevocationIds)
        {
            signers.Add("revocation:" + Convert.ToHexStringLower(id));
        }

        return new AipVerifiedToken(AipTokenMode.Chained, root.Value, holder, scopes, budget is { } eb ? AipBlockTemplates.FromCents(eb) : null,
            model.Authority.MaxDepth, DateTimeOffset.MinValue, expires, hops, completion, signers)
        {
            RootScopes = model.Authority.Scopes,
            RootBudget = model.Authority.BudgetCents is { } rb ? AipBlockTemplates.FromCents(rb) : null,
        };
    }

    private BiscuitParseOptions ParseOptions()
    {
        // Room for the authority block, the delegations and a completion block; rebuilt only when an option changes.
        var maxBlocks = _options.MaxChainBlocks + 2;
        var concurrency = _options.ChainVerificationConcurrency;
        var cached = _parseOptions;
        if (cached is null || cached.MaxBlocks != maxBlocks || cached.Concurrency != concurrency)
        {
            _parseOptions = cached = new BiscuitParseOptions { MaxBlocks = maxBlocks, Concurrency = concurrency };
        }

        return cached;
    }

    // The fast path: decode and verify once under the key of the aip:key identity the bytes claim, and keep the result only
    // when the verified authority block names exactly that identity. Null sends the caller down the full path.
    private static (BiscuitToken Verified, AipIdentifier Root, string RootSigner)? TryVerifyWithIdentityHint(byte[] bytes, BiscuitParseOptions options)
    {
        if (AuthorityIdentityHint.TryRead(bytes) is not { } hinted || !AipIdentifier.TryParse(hinted, out var root) || root.Kind != AipIdentifierKind.Key)
        {
            return null;
        }

        try
        {
            var verified = BiscuitToken.FromBytes(bytes, PublicKey.FromBytes(root.PublicKey, Algorithm.Ed25519), options);
            return string.Equals(AipChainModel.TryReadIdentity(verified), root.Value, StringComparison.Ordinal) ? (verified, root, root.Value) : null;
        }
        catch (BiscuitException)
        {
            return null;
        }
    }

    private async ValueTask<(BiscuitToken Verified, AipIdentifier Root, string RootSigner)> VerifySignaturesAsync(byte[] bytes, BiscuitParseOptions parseOptions,
        DateTimeOffset now, CancellationToken ct)
    {
        BiscuitToken unverified;
        try
        {
            unverified = BiscuitToken.FromBytesUnverified(bytes, parseOptions);
        }
        catch (BiscuitException ex)
        {
            throw AipException.Malformed("The chained token cannot be decoded.", ex);
        }

        var rootId = AipChainModel.ReadIdentity(unverified);
        if (!AipIdentifier.TryParse(rootId, out var root))
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, "The authority identity is not an AIP identifier.");
        }

        var rootKeys = root.Kind == AipIdentifierKind.Key
            ? [root.PublicKey.ToArray()]
            : (await _resolver.ResolveAsync(root, ct).ConfigureAwait(false)).Where(k => k.IsValidAt(now)).Select(k => k.Key.ToArray()).ToArray();
        foreach (var key in rootKeys)
        {
            try
            {
                var verified = BiscuitToken.FromBytes(bytes, PublicKey.FromBytes(key, Algorithm.Ed25519), parseOptions);
                return (verified, root, root.Kind == AipIdentifierKind.Key ? root.Value : AipIdentifier.ForKey(key));
            }
            catch (BiscuitException)
            {
                // try the next key of a rotating identity
            }
        }

        throw new AipException(AipErrorCodes.SignatureInvalid, "The chain's signatures do not verify under the root identity's key.");
    }

    private void RequireFromHolder(Aim.Biscuit.PublicKey? externalKey, string claimedId, string holder, int blockIndex, string verb)
    {
        if (externalKey is null)
        {
            if (_options.RequireAttestation)
            {
                throw new AipException(AipErrorCodes.SignatureInvalid, $"Block {blockIndex} is not attested (signed by the agent that {verb} it), and this verifier requires attestation.");
            }

            // Anyone holding the bytes can append a block; its author claim must still follow the chain of holders.
            if (!string.Equals(claimedId, holder, StringComparison.Ordinal))
            {
                throw AipException.Malformed($"Block {blockIndex} is {verb} by {claimedId}, but the token is held by {holder}.");
            }

            return;
        }

        if (externalKey.Algorithm != Algorithm.Ed25519 || !AipIdentifier.TryParse(claimedId, out var claimed) || claimed.Kind != AipIdentifierKind.Key ||
            !claimed.PublicKey.SequenceEqual(externalKey.Bytes))
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, $"Block {blockIndex} is not signed by the agent it names.");
        }

        if (!string.Equals(claimedId, holder, StringComparison.Ordinal))
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, $"Block {blockIndex} is {verb} by {claimedId}, who does not hold the token.");
        }
    }

    private void RunPolicy(BiscuitToken token, string tool, DateTimeOffset now, int depth)
    {
        var profile = _options.PolicyProfile;
        var authorizer = token.CreateAuthorizer();
        authorizer.Limits = profile == AipPolicyProfile.Advanced
            ? RunLimits.Default with { MaxIterations = _options.AdvancedIterationCap, MaxTime = _options.PolicyTimeLimit }
            : RunLimits.Default with { MaxTime = _options.PolicyTimeLimit };
        try
        {
            authorizer.AddFact(new Fact("tool", Term.String(tool)));
            authorizer.AddFact(new Fact("time", Term.Date(now)));
            authorizer.AddFact(new Fact("depth", Term.Integer(depth)));
            if (profile != AipPolicyProfile.Simple)
            {
                authorizer.AddCheck(AipPolicies.ToolIsARight);
            }

            if (profile == AipPolicyProfile.Advanced && !string.IsNullOrWhiteSpace(_options.AdvancedPolicy))
            {
                AipPolicies.AddAdvanced(authorizer, _advancedPolicy.Get(_options.AdvancedPolicy));
            }

            authorizer.AddPolicy(AipPolicies.AllowIfTrue);
            authorizer.Authorize();
        }
        catch (BiscuitLogicException ex)
        {
            var timeFailed = ex.FailedChecks.Any(f => f.Rule.Contains("time(", StringComparison.Ordinal)) &&
                             !ex.FailedChecks.Any(f => f.Rule.Contains("tool(", StringComparison.Ordinal));
            throw new AipException(timeFailed ? AipErrorCodes.TokenExpired : AipErrorCodes.ScopeInsufficient,
                $"The token's policy refuses '{tool}'.", ex);
        }
        catch (BiscuitRunLimitException ex)
        {
            throw new AipException(AipErrorCodes.ScopeInsufficient, "The policy evaluation hit its run limit; refusing.", ex);
        }
        catch (BiscuitException ex)
        {
            throw new AipException(AipErrorCodes.ScopeInsufficient, "The policy could not be evaluated; refusing.", ex);
        }
    }
}
