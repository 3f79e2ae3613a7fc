using Microsoft.Extensions.DependencyInjection;

namespace Aim.Mcp;

/// <summary>Registers Aim on an MCP server.</summary>
public static class AimMcpServerBuilderExtensions
{
    /// <summary>
    /// Adds the Aim <c>tools/call</c> filter (<see cref="AimCallToolFilter"/>): every tool call is authorized as its
    /// <c>[SecureAction]</c> (or a mapping in <see cref="AimMcpOptions.Tools"/>), the caller's AIP token in
    /// <c>_meta.aip_token</c> is verified, and the call is audited.
    /// </summary>
    public static IMcpServerBuilder WithAim(this IMcpServerBuilder builder, Action<AimMcpOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new AimMcpOptions();
        configure(options);
        var filter = new AimCallToolFilter(options);
        return builder.WithRequestFilters(f => f.AddCallToolFilter(filter.Wrap));
    }
}
