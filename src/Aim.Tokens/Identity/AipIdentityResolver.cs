namespace Aim.Tokens.Identity;

/// <summary>
/// The default resolver: <c>aip:key</c> identifiers resolve to their own key (no lookup); <c>aip:web</c> identifiers
/// resolve from keys pinned in the trust store, else through the web resolver when one is configured, else fail closed.
/// </summary>
public sealed class AipIdentityResolver : IAipIdentityResolver
{
    private readonly IAipTrustStore? _trustStore;
    private readonly IAipIdentityResolver? _web;

    /// <summary>Creates the resolver.</summary>
    /// <param name="trustStore">Pinned documents for offline <c>aip:web</c> resolution (optional).</param>
    /// <param name="web">Online <c>aip:web</c> resolution, usually a <see cref="WebIdentityResolver"/> (optional).</param>
    public AipIdentityResolver(IAipTrustStore? trustStore = null, IAipIdentityResolver? web = null)
    {
        _trustStore = trustStore;
        _web = web;
    }

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<AipPublicKey>> ResolveAsync(AipIdentifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (identifier.Kind == AipIdentifierKind.Key)
        {
            return ValueTask.FromResult<IReadOnlyList<AipPublicKey>>([new AipPublicKey("self", identifier.PublicKey)]);
        }

        if (_trustStore is not null && _trustStore.TryGetPinnedKeys(identifier.Value, out var pinned))
        {
            return ValueTask.FromResult(pinned);
        }

        return _web is not null
            ? _web.ResolveAsync(identifier, cancellationToken)
            : ValueTask.FromException<IReadOnlyList<AipPublicKey>>(
                new AipException(AipErrorCodes.IdentityUnresolvable, $"No keys are pinned for {identifier} and web resolution is off."));
    }
}
