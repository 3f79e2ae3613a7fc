using System.Text;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Revocation;

namespace Aim.Tokens.Verification;

/// <summary>
/// Verifies compact and chained AIP tokens on the bytes received, in the AIP order: V1 signatures, V2 root identity,
/// V3 depth, V4 attenuation (scope, budget, expiry), V5 delegation context, V6 policy for the request, V7 revocation.
/// Every failure is an <see cref="AipException"/> with an AIP code. Thread-safe; create one and reuse it.
/// </summary>
public sealed partial class AipVerifier
{
    private readonly AipVerifierOptions _options;
    private readonly IAipIdentityResolver _resolver;
    private readonly VerifiedTokenCache _cache;
    private readonly AipPolicies.Cache _advancedPolicy = new();
    private Aim.Biscuit.BiscuitParseOptions? _parseOptions;

    /// <summary>Creates a verifier.</summary>
    /// <exception cref="ArgumentNullException">The options or their trust store is null.</exception>
    public AipVerifier(AipVerifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.TrustStore);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        _options = options;
        _resolver = options.Resolver ?? new AipIdentityResolver(options.TrustStore);
        _cache = new VerifiedTokenCache(options.CacheCapacity);
    }

    /// <summary>The settings in use.</summary>
    public AipVerifierOptions Options => _options;

    /// <summary>How many verified tokens are cached.</summary>
    public int CachedTokens => _cache.Count;

    /// <summary>
    /// Verifies a token (compact or chained: a compact token has two dots) and, when <paramref name="request"/> names a
    /// tool or a cost, that the token allows it.
    /// </summary>
    /// <returns>The verified token with its effective scope, budget, expiry and provenance.</returns>
    /// <exception cref="AipException">The token is refused; <see cref="AimException.Code"/> says which rule.</exception>
    public async ValueTask<AipVerifiedToken> VerifyAsync(string? token, AipAccessRequest? request = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new AipException(AipErrorCodes.TokenMissing, "No AIP token was presented.");
        }

        if (token.Length > _options.MaxTokenLength)
        {
            throw AipException.Malformed($"The token is longer than {_options.MaxTokenLength} characters.");
        }

        var now = _options.TimeProvider.GetUtcNow();
        if (_cache.TryGet(token, out var entry))
        {
            if (now > entry.Token.ExpiresAt + _options.ClockSkew)
            {
                _cache.Remove(token);
                throw new AipException(AipErrorCodes.TokenExpired, "The token has expired.");
            }

            CheckRequest(entry.Token, request);
            var version = await CheckRevocationAsync(entry.Token, now, entry.RevocationVersion, cancellationToken).ConfigureAwait(false);
            if (version != entry.RevocationVersion)
            {
                _cache.Set(token, entry with { RevocationVersion = version });
            }

            return entry.Token;
        }

        var verified = CompactToken.LooksCompact(token)
            ? await VerifyCompactAsync(token, now, cancellationToken).ConfigureAwait(false)
            : await VerifyChainedAsync(token, now, request, cancellationToken).ConfigureAwait(false);

        CheckRequest(verified, request);
        var revocationVersion = await CheckRevocationAsync(verified, now, knownVersion: null, cancellationToken).ConfigureAwait(false);
        _cache.Set(token, new VerifiedTokenCache.Entry(verified, revocationVersion));
        return verified;
    }

    /// <summary>Like <see cref="VerifyAsync"/> but returns the refusal instead of throwing.</summary>
    public async ValueTask<(AipVerifiedToken? Token, AipException? Error)> TryVerifyAsync(string? token, AipAccessRequest? request = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await VerifyAsync(token, request, cancellationToken).ConfigureAwait(false), null);
        }
        catch (AipException ex)
        {
            return (null, ex);
        }
    }

    /// <summary>Forgets every cached verification (for example after changing the trust store).</summary>
    public void ClearCache() => _cache.Clear();

    private async ValueTask<AipVerifiedToken> VerifyCompactAsync(string token, DateTimeOffset now, CancellationToken ct)
    {
        var parsed = CompactToken.Parse(token);
        var claims = parsed.Claims;
        if (!AipIdentifier.TryParse(claims.Issuer, out var issuer))
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, "iss is not an AIP identifier.");
        }

        // V1: the signature, with the issuer's key (aip:key) or one of its keys valid now (aip:web, rotation).
        var signingInput = Encoding.ASCII.GetBytes(parsed.Token, 0, parsed.SigningInputLength);
        string signerId;
        if (issuer.Kind == AipIdentifierKind.Key)
        {
            if (!Aim.Crypto.Ed25519.Verify(issuer.PublicKey, signingInput, parsed.Signature))
            {
                throw new AipException(AipErrorCodes.SignatureInvalid, "The token's signature does not verify with the issuer's key.");
            }

            signerId = issuer.Value;
        }
        else
        {
            var keys = await _resolver.ResolveAsync(issuer, ct).ConfigureAwait(false);
            var key = keys.FirstOrDefault(k => k.IsValidAt(now) && k.Verify(signingInput, parsed.Signature))
                ?? throw new AipException(AipErrorCodes.SignatureInvalid, "The token's signature does not verify with any current key of the issuer.");
            signerId = key.AipId;
        }

        // V2: the root must be trusted.
        if (!_options.TrustStore.IsTrustedRoot(issuer.Value))
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, $"The issuer {issuer} is not a trusted root.");
        }

        // V4 (time): lifetime under the maximum, not issued in the future, not expired.
        if (claims.ExpiresAt - claims.IssuedAt > _options.MaxLifetime)
        {
            throw AipException.Malformed("The token's lifetime exceeds the maximum.");
        }

        if (claims.IssuedAt > now + _options.ClockSkew)
        {
            throw AipException.Malformed("The token is issued in the future.");
        }

        if (now > claims.ExpiresAt + _options.ClockSkew)
        {
            throw new AipException(AipErrorCodes.TokenExpired, "The token has expired.");
        }

        IReadOnlyList<string> signers = signerId == issuer.Value ? [issuer.Value] : [issuer.Value, signerId];
        return new AipVerifiedToken(AipTokenMode.Compact, claims.Issuer, claims.Subject, claims.Scopes, claims.BudgetUsd, claims.MaxDepth,
            claims.IssuedAt, claims.ExpiresAt, [], null, signers)
        {
            RootScopes = claims.Scopes,
            RootBudget = claims.BudgetUsd,
        };
    }

    // V6 for the verifier's own request: the tool must be in scope and the cost within budget.
    private static void CheckRequest(AipVerifiedToken token, AipAccessRequest? request)
    {
        if (request is null)
        {
            return;
        }

        if (request.Tool is { } tool && !token.Allows(tool))
        {
            throw new AipException(AipErrorCodes.ScopeInsufficient, $"The token does not allow '{tool}'.");
        }

        if (request.CostUsd is { } cost && token.BudgetUsd is { } budget && cost > budget)
        {
            throw new AipException(AipErrorCodes.BudgetExceeded, $"The cost ${cost} exceeds the token's budget ${budget}.");
        }
    }

    // V7: every identity and key in the token against a fresh enough revocation list; any doubt refuses.
    private async ValueTask<long> CheckRevocationAsync(AipVerifiedToken token, DateTimeOffset now, long? knownVersion, CancellationToken ct)
    {
        if (_options.Revocation is not { } source)
        {
            return 0;
        }

        RevocationSnapshot snapshot;
        try
        {
            snapshot = await source.GetSnapshotAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw new AipException(AipErrorCodes.KeyRevoked, "Revocation status cannot be established; refusing.", ex);
        }

        if (now - snapshot.AsOf > _options.RevocationMaxStaleness)
        {
            throw new AipException(AipErrorCodes.KeyRevoked, "The revocation list is stale; refusing.");
        }

        if (knownVersion == snapshot.Version)
        {
            return snapshot.Version;
        }

        foreach (var id in token.SignerIds)
        {
            if (snapshot.IsRevoked(id))
            {
                throw new AipException(AipErrorCodes.KeyRevoked, $"The key {id} is revoked.");
            }
        }

        if (snapshot.IsRevoked(token.Subject))
        {
            throw new AipException(AipErrorCodes.KeyRevoked, $"The holder {token.Subject} is revoked.");
        }

        foreach (var hop in token.Hops)
        {
            if (snapshot.IsRevoked(hop.Delegator) || snapshot.IsRevoked(hop.Delegate))
            {
                throw new AipException(AipErrorCodes.KeyRevoked, "An agent in the delegation chain is revoked.");
            }
        }

        return snapshot.Version;
    }
}
