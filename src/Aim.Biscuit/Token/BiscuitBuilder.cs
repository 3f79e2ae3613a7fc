using Aim.Biscuit.Datalog;
using Aim.Biscuit.Format;

namespace Aim.Biscuit;

/// <summary>Builds a new token: its authority block, optional root key id, and the root signature.</summary>
public sealed class BiscuitBuilder
{
    /// <summary>The authority block's content.</summary>
    public BlockBuilder Authority { get; } = new();

    /// <summary>Hint telling verifiers which root key signed the token, or null.</summary>
    public uint? RootKeyId { get; set; }

    /// <summary>Adds Datalog source to the authority block.</summary>
    /// <exception cref="BiscuitLanguageException">The source does not parse.</exception>
    public BiscuitBuilder AddCode(string code, IReadOnlyDictionary<string, Term>? parameters = null, IReadOnlyDictionary<string, PublicKey>? scopeParameters = null)
    {
        Authority.AddCode(code, parameters, scopeParameters);
        return this;
    }

    /// <summary>Signs the authority block with <paramref name="root"/> and returns the token.</summary>
    /// <param name="root">The root key pair.</param>
    /// <param name="nextKeyAlgorithm">Algorithm of the ephemeral key that will sign the next block.</param>
    public BiscuitToken Build(KeyPair root, Algorithm nextKeyAlgorithm = Algorithm.Ed25519)
    {
        ArgumentNullException.ThrowIfNull(root);
        var symbols = new SymbolTable();
        var keys = new PublicKeyTable();
        var proto = ProtoConverter.EncodeBlock(Authority.Facts, Authority.Rules, Authority.Checks, Authority.Scopes, Authority.Context, symbols, keys, thirdParty: false);
        using var next = KeyPair.Generate(nextKeyAlgorithm);
        var container = SerializedBiscuit.Create(RootKeyId, root, next, Google.Protobuf.MessageExtensions.ToByteArray(proto), proto.Version);
        return BiscuitToken.FromContainer(container, verified: true);
    }
}
