using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Aim.Mcp;

/// <summary>The client side: attaches an AIP token to MCP tool calls in <c>_meta.aip_token</c>.</summary>
public static class AimMcpClientExtensions
{
    /// <summary>Request options whose <c>_meta</c> carries <paramref name="token"/> (other members copied from <paramref name="options"/>).</summary>
    /// <exception cref="ArgumentException">The token is empty.</exception>
    public static RequestOptions WithAipToken(this RequestOptions? options, string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        var result = new RequestOptions { ProgressToken = options?.ProgressToken, JsonSerializerOptions = options?.JsonSerializerOptions };
        var meta = options?.Meta is null ? new JsonObject() : (JsonObject)options.Meta.DeepClone();
        meta[AimMcpOptions.TokenMetaKey] = token;
        result.Meta = meta;
        return result;
    }

    /// <summary>
    /// Calls a tool with an AIP token: <paramref name="token"/>, else the ambient <see cref="AimDelegation.CurrentToken"/>.
    /// A refusal comes back as a result with <c>isError</c>; read its code with <see cref="McpCallRefusal.ReadCode"/>.
    /// </summary>
    /// <exception cref="AimConfigurationException">No token was given and none is in scope.</exception>
    public static ValueTask<CallToolResult> CallToolWithAipTokenAsync(this McpClient client, string toolName, IReadOnlyDictionary<string, object?>? arguments = null, string? token = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        token ??= AimDelegation.CurrentToken ?? throw new AimConfigurationException("No AIP token was given and none is in scope (AimDelegation.Use).");
        return client.CallToolAsync(toolName, arguments, progress: null, options: new RequestOptions().WithAipToken(token), cancellationToken);
    }
}
