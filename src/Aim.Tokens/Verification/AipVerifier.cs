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
    public ValueTask<AipVerifiedToken> VerifyAsync(string? token, AipAccessRequest? request = null, CancellationToken cancellationToken = default)
    {
        // Cache hits and compact aip:key tokens need nothing that can wait (unless the revocation source does): they are
        // verified here, without an async state machine. Chained tokens and aip:web issuers take the async path. As from
        // an async method, every refusal comes back as a faulted task, never as a synchronous throw.
        try
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
            AipVerifiedToken verified;
            long? knownVersion = null;
            if (_cache.TryGet(token, out var entry))
            {
                if (now > entry.Token.ExpiresAt + _options.ClockSkew)
                {
                    _cache.Remove(token);
                    throw new AipException(AipErrorCodes.TokenExpired, "The token has expired.");
                }

                verified = entry.Token;
                knownVersion = entry.RevocationVersion;
            }
            else if (!CompactToken.LooksCompact(token) || TryVerifyCompactWithKey(token, now) is not { } compact)
            {
                return VerifyUncachedAsync(token, now, request, cancellationToken);
            }
            else
            {
                verified = compact;
            }

            CheckRequest(verified, request);
            if (_options.Revocation is not { } source)
            {
                Remember(token, verified, knownVersion, 0);
                return new ValueTask<AipVerifiedToken>(verified);
            }

            if (SnapshotNow(source, cancellationToken, out var pending) is not { } snapshot)
            {
                return FinishRevocationAsync(token, verified, pending, now, knownVersion, cancellationToken);
            }

            var version = CheckRevocation(verified, snapshot, now, knownVersion);
            Remember(token, verified, knownVersion, version);
            return new ValueTask<AipVerifiedToken>(verified);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<AipVerifiedToken>(cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<AipVerifiedToken>(ex);
        }
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

    private async ValueTask<AipVerifiedToken> VerifyUncachedAsync(string token, DateTimeOffset now, AipAccessRequest? request, CancellationToken ct)
    {
        var verified = CompactToken.LooksCompact(token)
            ? await VerifyCompactAsync(token, now, ct).ConfigureAwait(false)
            : await VerifyChainedAsync(token, now, request, ct).ConfigureAwait(false);

        CheckRequest(verified, request);
        var revocationVersion = await CheckRevocationAsync(verified, now, knownVersion: null, ct).ConfigureAwait(false);
        _cache.Set(token, new VerifiedTokenCache.Entry(verified, revocationVersion));
        return verified;
    }

    private async ValueTask<AipVerifiedToken> FinishRevocationAsync(
        string token, AipVerifiedToken verified, ValueTask<RevocationSnapshot> pending, DateTimeOffset now, long? knownVersion, CancellationToken ct)
    {
        RevocationSnapshot snapshot;
        try
        {
            snapshot = await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw RevocationUnknown(ex);
        }

        var version = CheckRevocation(verified, snapshot, now, knownVersion);
        Remember(token, verified, knownVersion, version);
        return verified;
    }

    // A fresh verification is cached; a cache hit is re-stored only when the revocation list moved on.
    private void Remember(string token, AipVerifiedToken verified, long? knownVersion, long version)
    {
        if (knownVersion != version)
        {
            _cache.Set(token, new VerifiedTokenCache.Entry(verified, version));
        }
    }

    // The compact path that never waits: an aip:key issuer carries its own key. Null when the issuer is aip:web (its keys
    // may have to be fetched: the async path does it); nothing has been looked up or remembered by then.
    private AipVerifiedToken? TryVerifyCompactWithKey(string token, DateTimeOffset now)
    {
        Span<byte> signature = stackalloc byte[Aim.Crypto.Ed25519.SignatureSize];
        var claims = CompactToken.Parse(token, signature, out var signingInputLength);
        var issuer = ParseIssuer(claims);
        if (issuer.Kind != AipIdentifierKind.Key)
        {
            return null;
        }

        // V1: the signature, with the issuer's own key.
        VerifyWithIssuerKey(issuer, token, signingInputLength, signature);
        return CompleteCompact(claims, issuer, issuer.Value, now);
    }

    private async ValueTask<AipVerifiedToken> VerifyCompactAsync(string token, DateTimeOffset now, CancellationToken ct)
    {
        var signature = new byte[Aim.Crypto.Ed25519.SignatureSize];
        var claims = CompactToken.Parse(token, signature, out var signingInputLength);
        var issuer = ParseIssuer(claims);

        // V1: the signature, with the issuer's key (aip:key) or one of its keys valid now (aip:web, rotation).
        if (issuer.Kind == AipIdentifierKind.Key)
        {
            VerifyWithIssuerKey(issuer, token, signingInputLength, signature);
            return CompleteCompact(claims, issuer, issuer.Value, now);
        }

        var keys = await _resolver.ResolveAsync(issuer, ct).ConfigureAwait(false);
        var signingInput = Encoding.ASCII.GetBytes(token, 0, signingInputLength);
        AipPublicKey? signer = null;
        foreach (var key in keys)
        {
            if (key.IsValidAt(now) && key.Verify(signingInput, signature))
            {
                signer = key;
                break;
            }
        }

        if (signer is null)
        {
            throw new AipException(AipErrorCodes.SignatureInvalid, "The token's signature does not verify with any current key of the issuer.");
        }

        return CompleteCompact(claims, issuer, signer.AipId, now);
    }

    private static AipIdentifier ParseIssuer(AipTokenClaims claims) =>
        AipIdentifier.TryParse(claims.Issuer, out var issuer)
            ? issuer
            : throw new AipException(AipErrorCodes.IdentityUnresolvable, "iss is not an AIP identifier.");

    // V1 for an aip:key issuer: the signing input (ASCII by construction: base64url and one dot) is copied to the stack,
    // or a pooled buffer for the rare long token, instead of a new array per verification.
    private static void VerifyWithIssuerKey(AipIdentifier issuer, string token, int signingInputLength, ReadOnlySpan<byte> signature)
    {
        const int StackBytes = 1024;
        byte[]? rented = null;
        var input = signingInputLength <= StackBytes
            ? stackalloc byte[StackBytes]
            : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(signingInputLength));
        try
        {
            var length = Encoding.ASCII.GetBytes(token.AsSpan(0, signingInputLength), input);
            if (!Aim.Crypto.Ed25519.Verify(issuer.PublicKey, input[..length], signature))
            {
                throw new AipException(AipErrorCodes.SignatureInvalid, "The token's signature does not verify with the issuer's key.");
            }
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // V2 and V4 (time) for a compact token whose signature verified.
    private AipVerifiedToken CompleteCompact(AipTokenClaims claims, AipIdentifier issuer, string signerId, DateTimeOffset now)
    {
        // V2: the root must be trusted.
        if (!_options.TrustStore.IsTrustedRoot(issuer.Value))
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, $"The issuer {issuer} is not a trusted root.");
        }

        // V4 (time): lifetime under the maximum, not issued in the future, not expired.
        if (_options.MaxLifetime is { } maxLifetime && claims.ExpiresAt - claims.IssuedAt > maxLifetime)
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

        string[] signers = signerId == issuer.Value ? [issuer.Value] : [issuer.Value, signerId];
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
            throw RevocationUnknown(ex);
        }

        return CheckRevocation(token, snapshot, now, knownVersion);
    }

    // The snapshot when the source answers at once; null (with the pending answer) when it has to wait. A source that
    // throws or fails refuses, as in the async path.
    private static RevocationSnapshot? SnapshotNow(IRevocationSource source, CancellationToken ct, out ValueTask<RevocationSnapshot> pending)
    {
        try
        {
            pending = source.GetSnapshotAsync(ct);
            return pending.IsCompleted ? pending.GetAwaiter().GetResult() : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw RevocationUnknown(ex);
        }
    }

    private static AipException RevocationUnknown(Exception inner) =>
        new(AipErrorCodes.KeyRevoked, "Revocation status cannot be established; refusing.", inner);

    private long CheckRevocation(AipVerifiedToken token, RevocationSnapshot snapshot, DateTimeOffset now, long? knownVersion)
    {
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
