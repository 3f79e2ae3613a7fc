using Aim.Tokens.Verification;

namespace Aim.Gateway;

/// <summary>
/// Settings of a gateway that only code can give (<see cref="GatewayHost.Build"/>); everything a file can say is in
/// <see cref="GatewayConfig"/>.
/// </summary>
public sealed class GatewayOptions
{
    /// <summary>
    /// Actions of MCP tools by tool name. A call of a listed tool is decided as that action (its capability, resource, risk,
    /// JIT flag and cost, with the call's <c>params.arguments</c> as its arguments, and the token's scope checked for the
    /// capability) instead of as <c>gateway:forward</c> with resource <c>tool:&lt;name&gt;</c>. Use it when the gateway runs
    /// next to the tools' assembly: <c>ActionResolver.Resolve(method).Action</c> gives the catalog's descriptor.
    /// </summary>
    public IDictionary<string, ActionDescriptor> Tools { get; } = new Dictionary<string, ActionDescriptor>(StringComparer.Ordinal);

    /// <summary>
    /// Changes the gateway's embedded-engine options after the config has set them (for example an approval handler for
    /// JIT tools, or an intent check). Ignored when <see cref="Runtime"/> is given.
    /// </summary>
    public Action<AimOptions>? ConfigureAim { get; set; }

    /// <summary>
    /// A runtime to decide with instead of the one built from the config (the caller owns and disposes it). Its step 4 must
    /// verify the gateway's tokens, with the same verifier as <see cref="Verifier"/>.
    /// </summary>
    public AimRuntime? Runtime { get; set; }

    /// <summary>
    /// The verifier whose cached results give the forwarded identity headers (step 4 verified the token a moment earlier);
    /// null builds one from <see cref="GatewayConfig.TrustedKeys"/>, which step 4 of the built runtime also uses.
    /// </summary>
    public AipVerifier? Verifier { get; set; }

    /// <summary>The clock of the built runtime and verifier; null for the system clock.</summary>
    public TimeProvider? TimeProvider { get; set; }
}
