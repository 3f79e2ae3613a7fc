using Aim.Tokens.Verification;

namespace Aim.Mcp;

/// <summary>Settings of the Aim tools/call filter.</summary>
public sealed class AimMcpOptions
{
    /// <summary>
    /// The <c>_meta</c> key that carries the caller's AIP token in a <c>tools/call</c> request (stdio has no headers).
    /// The value is the compact or chained token as a JSON string.
    /// </summary>
    public const string TokenMetaKey = "aip_token";

    /// <summary>Verifies callers' tokens (trusted roots, clock, revocation). Required when <see cref="RequireToken"/> is true.</summary>
    public AipVerifier? Verifier { get; set; }

    /// <summary>Whether every call must carry a valid AIP token (default true). Set false only for a local, single-user server.</summary>
    public bool RequireToken { get; set; } = true;

    /// <summary>
    /// Whether the verified token is put in scope (<see cref="AimDelegation"/>) while the call runs, so step 4 of the
    /// call path checks it as well (default true; the runtime then needs a chain check, for example
    /// <c>new AipChainCheck(verifier, requireHolderIsAgent: false)</c>, or it denies every delegated call).
    /// </summary>
    public bool FlowTokenToCallPath { get; set; } = true;

    /// <summary>Actions for tools whose method has no <c>[SecureAction]</c>, by MCP tool name.</summary>
    public IDictionary<string, ActionDescriptor> Tools { get; } = new Dictionary<string, ActionDescriptor>(StringComparer.Ordinal);

    /// <summary>The runtime to use; null for <see cref="AimRuntime.Current"/> at call time.</summary>
    public AimRuntime? Runtime { get; set; }
}
