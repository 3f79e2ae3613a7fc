namespace Aim.Tokens.Identity;

/// <summary>Finds the public keys of an AIP identifier.</summary>
public interface IAipIdentityResolver
{
    /// <summary>
    /// Returns the identifier's keys (with their validity windows; the verifier picks the ones valid at its time).
    /// Implementations fail closed: anything doubtful throws.
    /// </summary>
    /// <exception cref="AipException"><see cref="AipErrorCodes.IdentityUnresolvable"/> when the keys cannot be established.</exception>
    ValueTask<IReadOnlyList<AipPublicKey>> ResolveAsync(AipIdentifier identifier, CancellationToken cancellationToken = default);
}
