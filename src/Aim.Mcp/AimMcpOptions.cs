namespace Aim.Mcp;

/// <summary>Settings of the Aim tools/call filter.</summary>
public sealed class AimMcpOptions
{
    /// <summary>
    /// The <c>_meta</c> key that carries the caller's AIP token in a <c>tools/call</c> request (stdio has no headers).
    /// The value is the compact or chained token as a JSON string.
    /// </summary>
    public const string TokenMetaKey = "aip_token";

    /// <summary>
    /// Whether every call must carry an AIP token (default true): a call without one is refused <c>aip_token_missing</c> by
    /// step 4 of the call path. The token is verified there too, by the runtime's chain check (for example
    /// <c>o.ChainCheck = new AipChainCheck(verifier, requireHolderIsAgent: false)</c>); without one every delegated call is
    /// denied <c>chain_unverifiable</c>. Set false only for a local, single-user server.
    /// </summary>
    public bool RequireToken { get; set; } = true;

    /// <summary>Actions for tools whose method has no <c>[SecureAction]</c>, by MCP tool name.</summary>
    public IDictionary<string, ActionDescriptor> Tools { get; } = new Dictionary<string, ActionDescriptor>(StringComparer.Ordinal);

    /// <summary>The runtime to use; null for <see cref="AimRuntime.Current"/> at call time.</summary>
    public AimRuntime? Runtime { get; set; }
}
