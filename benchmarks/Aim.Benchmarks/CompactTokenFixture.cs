using System.Text;
using Aim.Crypto;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;

namespace Aim.Benchmarks;

/// <summary>
/// The compact token both token suites measure, and the raw pieces (signing input, signature, root public key) for the
/// raw P/Invoke baseline (the libsodium NSec ships), so every suite's baseline verifies exactly the bytes the compact verify does.
/// </summary>
internal sealed class CompactTokenFixture
{
    private CompactTokenFixture(Ed25519KeyPair root, Ed25519KeyPair holder, DateTimeOffset now)
    {
        Root = root;
        Holder = holder;
        Now = now;
        Compact = CompactToken.Create(root, new AipTokenClaims(
            AipIdentifier.ForKey(root.PublicKey), AipIdentifier.ForKey(holder.PublicKey), ["tool:search", "tool:fetch"], 5m, 0, now, now.AddMinutes(50)));
        var dot = Compact.LastIndexOf('.');
        Input = Encoding.ASCII.GetBytes(Compact[..dot]);
        Signature = System.Buffers.Text.Base64Url.DecodeFromChars(Compact.AsSpan(dot + 1));
        RootPublic = root.PublicKey.ToArray();
    }

    public Ed25519KeyPair Root { get; }

    public Ed25519KeyPair Holder { get; }

    public DateTimeOffset Now { get; }

    public string Compact { get; }

    public byte[] Input { get; }

    public byte[] Signature { get; }

    public byte[] RootPublic { get; }

    /// <summary>Fixed seeds: root key from 1s, holder from 2s.</summary>
    public static CompactTokenFixture Create() => new(
        Ed25519KeyPair.FromSeed(Enumerable.Repeat((byte)1, 32).ToArray()),
        Ed25519KeyPair.FromSeed(Enumerable.Repeat((byte)2, 32).ToArray()),
        DateTimeOffset.UtcNow);
}
