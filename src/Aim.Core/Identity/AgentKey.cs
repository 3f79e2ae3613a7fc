using Aim.Crypto;

namespace Aim.Identity;

/// <summary>
/// An agent's identity together with its Ed25519 key pair. Dispose it to wipe the private key; it is
/// never part of <see cref="ToString"/>.
/// </summary>
public sealed class AgentKey : IDisposable
{
    /// <summary>Pairs an identity with its key pair.</summary>
    /// <exception cref="ArgumentException">The key pair's public key is not the identity's.</exception>
    public AgentKey(AgentIdentity identity, Ed25519KeyPair keyPair)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(keyPair);
        if (!keyPair.PublicKey.SequenceEqual(identity.PublicKey.Span))
        {
            throw new ArgumentException("The key pair does not belong to the identity.", nameof(keyPair));
        }

        Identity = identity;
        KeyPair = keyPair;
    }

    /// <summary>The public identity.</summary>
    public AgentIdentity Identity { get; }

    /// <summary>The key pair (for token signing). Owned by this object: disposed with it.</summary>
    public Ed25519KeyPair KeyPair { get; }

    /// <summary>Creates a key with a fresh random key pair (not stored anywhere).</summary>
    public static AgentKey Generate(string name, Guid? id = null)
    {
        var pair = Ed25519KeyPair.Generate();
        return new AgentKey(new AgentIdentity(id ?? Guid.NewGuid(), name, pair.PublicKey), pair);
    }

    /// <summary>Signs a message; returns the 64-byte Ed25519 signature.</summary>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    public byte[] Sign(ReadOnlySpan<byte> message) => KeyPair.Sign(message);

    /// <summary>Signs a message into a 64-byte buffer.</summary>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    /// <exception cref="ArgumentException">The buffer is not 64 bytes.</exception>
    public void Sign(ReadOnlySpan<byte> message, Span<byte> signature) => KeyPair.Sign(message, signature);

    /// <summary>Verifies a signature against this key's public half.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) => Identity.Verify(message, signature);

    /// <summary>Wipes the private key.</summary>
    public void Dispose() => KeyPair.Dispose();

    /// <summary>The identity only; never the private key.</summary>
    public override string ToString() => $"AgentKey({Identity})";
}
