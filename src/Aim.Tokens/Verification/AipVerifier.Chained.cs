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

        var parseOptions = new BiscuitParseOptions { MaxBlocks = _options.MaxChainBlocks + 2 };
        BiscuitToken unverified;
        try
        {
            unverified = BiscuitToken.FromBytesUnverified(bytes, parseOptions);
        }
        catch (BiscuitException ex)
        {
            throw AipException.Malformed("The chained token cannot be decoded.", ex);
        }

        if (unverified.Blocks.Count - 1 > _options.MaxChainBlocks + 1)
        {
            throw new AipException(AipErrorCodes.DepthExceeded, "The chain holds more blocks than the verifier accepts.");
        }

        // V1: the Biscuit signature chain under the root identity's key.
        var rootId = AipChainModel.ReadIdentity(unverified);
        if (!AipIdentifier.TryParse(rootId, out var root))
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, "The authority identity is not an AIP identifier.");
        }

        var rootKeys = root.Kind == AipIdentifierKind.Key
            ? [root.PublicKey.ToArray()]
            : (await _resolver.ResolveAsync(root, ct).ConfigureAwait(false)).Where(k => k.IsValidAt(now)).Select(k => k.Key.ToArray()).ToArray();
        BiscuitToken? verified = null;
        string? rootSigner = null;
        foreach (var key in rootKeys)
        {
            try
            {
                verified = BiscuitToken.FromBytes(bytes, PublicKey.FromBytes(key, Algorithm.Ed25519), parseOptions);
                rootSigner = AipIdentifier.ForKey(key);
                break;
            }
            catch (BiscuitException)
            {
                // try the next key of a rotating identity
            }
        }

        if (verified is null)
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, "The chain's signatures do not verify under the root identity's key.");
        }

        var model = AipChainModel.Read(verified);

        // V1 (blocks): each delegation is signed by its delegator, who must be the current holder; a completion by the holder.
        var holder = model.Authority.Subject ?? model.Authority.Identity;
        var signers = new List<string> { root.Value };
        if (rootSigner != root.Value)
        {
            signers.Add(rootSigner!);
        }

        foreach (var d in model.Delegations)
        {
            RequireSignedBy(d.ExternalKey, d.Delegator, d.BlockIndex);
            if (!string.Equals(d.Delegator, holder, StringComparison.Ordinal))
            {
                throw new AipException(AipErrorCodes.SignatureInvalid, $"Block {d.BlockIndex} is delegated by {d.Delegator}, who does not hold the token.");
            }

            if (!AipIdentifier.TryParse(d.Delegate, out _))
            {
                throw AipException.Malformed($"Block {d.BlockIndex}: the delegate is not an AIP identifier.");
            }

            signers.Add(d.Delegator);
            holder = d.Delegate;
        }

        if (model.Completion is { } c)
        {
            RequireSignedBy(c.ExternalKey, c.CompletedBy, c.BlockIndex);
            if (!string.Equals(c.CompletedBy, holder, StringComparison.Ordinal))
            {
                throw new AipException(AipErrorCodes.SignatureInvalid, "The completion block is not signed by the holder.");
            }
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
        var hops = new List<AipDelegationHop>(depth);
        foreach (var d in model.Delegations)
        {
            if (!AipScope.IsSubset(d.Scopes, scopes))
            {
                throw new AipException(AipErrorCodes.ScopeInsufficient, $"Block {d.BlockIndex} widens the scope of its parent.");
            }

            if (d.BudgetCents is { } b)
            {
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
            model.Authority.MaxDepth, model.Authority.IssuedAt ?? DateTimeOffset.MinValue, expires, hops, completion, signers)
        {
            RootScopes = model.Authority.Scopes,
            RootBudget = model.Authority.BudgetCents is { } rb ? AipBlockTemplates.FromCents(rb) : null,
        };
    }

    private static void RequireSignedBy(byte[]? externalKey, string claimedId, int blockIndex)
    {
        if (externalKey is null)
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, $"Block {blockIndex} is not signed by an agent key (a third-party block is required).");
        }

        if (!AipIdentifier.TryParse(claimedId, out var claimed) || claimed.Kind != AipIdentifierKind.Key ||
            !claimed.PublicKey.SequenceEqual(externalKey))
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, $"Block {blockIndex} is not signed by the agent it names.");
        }
    }

    private void RunPolicy(BiscuitToken token, string tool, DateTimeOffset now, int depth)
    {
        var authorizer = token.CreateAuthorizer();
        authorizer.Limits = _options.PolicyProfile == AipPolicyProfile.Advanced
            ? RunLimits.Default with { MaxIterations = _options.AdvancedIterationCap, MaxTime = _options.PolicyTimeLimit }
            : RunLimits.Default with { MaxTime = _options.PolicyTimeLimit };
        try
        {
            authorizer.AddFact(new Fact("tool", Term.String(tool)));
            authorizer.AddFact(new Fact("time", Term.Date(now)));
            authorizer.AddFact(new Fact("depth", Term.Integer(depth)));
            if (_options.PolicyProfile != AipPolicyProfile.Simple)
            {
                // Standard: the tool must also be named by some right of the authority (literal) or covered by a pattern.
                authorizer.AddCode("check if tool($t), right($r), $r == $t or tool($t), right($r), $r.ends_with(\":*\")");
            }

            if (_options.PolicyProfile == AipPolicyProfile.Advanced && !string.IsNullOrWhiteSpace(_options.AdvancedPolicy))
            {
                authorizer.AddCode(_options.AdvancedPolicy);
            }

            authorizer.AddCode("allow if true");
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
