using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aim.Mcp;

/// <summary>
/// The server side: for each <c>tools/call</c>, resolve the tool's action (a mapping, else the tool method's
/// <c>[SecureAction]</c> through <see cref="ActionResolver"/>), put the caller's AIP token (from <c>_meta.aip_token</c>, or over
/// HTTP from the request's <c>X-AIP-Token</c> / <c>Authorization: AIP</c> header as <see cref="AipTokenIdentity"/>) in
/// scope (demanded when <see cref="AimMcpOptions.RequireToken"/>), and run the tool through <see cref="AimRuntime"/>: the one
/// call path verifies the token in step 4 (configure it on the runtime: <c>o.ChainCheck = new AipChainCheck(verifier,
/// requireHolderIsAgent: false)</c>), decides, approves, runs, signs and audits. Refusals are answered with
/// <see cref="McpCallRefusal"/> carrying the call path's reason code; the tool never runs.
/// </summary>
public sealed class AimCallToolFilter
{
    private readonly AimMcpOptions _options;
    private readonly ConcurrentDictionary<string, ActionResolution> _actions = new(StringComparer.Ordinal);

    /// <summary>Creates the filter.</summary>
    public AimCallToolFilter(AimMcpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>The filter, in the shape <c>AddCallToolFilter</c> takes.</summary>
    public McpRequestHandler<CallToolRequestParams, CallToolResult> Wrap(McpRequestHandler<CallToolRequestParams, CallToolResult> next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return (request, cancellationToken) => HandleAsync(request, next, cancellationToken);
    }

    /// <summary>The result <c>_meta</c> key carrying the server's AIP identity (its Aim agent key), so callers can pin the server.</summary>
    public const string ServerIdentityMetaKey = "aip_server_identity";

    private async ValueTask<CallToolResult> HandleAsync(RequestContext<CallToolRequestParams> request, McpRequestHandler<CallToolRequestParams, CallToolResult> next, CancellationToken cancellationToken)
    {
        var result = await AuthorizeAndRunAsync(request, next, cancellationToken).ConfigureAwait(false);
        var runtime = _options.Runtime ?? AimRuntime.Current;
        if (runtime.IsOperational)
        {
            result.Meta ??= [];
            result.Meta[ServerIdentityMetaKey] = runtime.Agent.AipId;
        }

        return result;
    }

    private async ValueTask<CallToolResult> AuthorizeAndRunAsync(RequestContext<CallToolRequestParams> request, McpRequestHandler<CallToolRequestParams, CallToolResult> next, CancellationToken cancellationToken)
    {
        var parameters = request.Params;
        string tool = parameters?.Name ?? string.Empty;
        var runtime = _options.Runtime ?? AimRuntime.Current;
        var resolution = Resolve(tool, request.MatchedPrimitive as McpServerTool);
        if (resolution.Kind == ActionResolutionKind.Unresolvable)
        {
            return McpCallRefusal.Create(ActionResolution.UnresolvableReasonCode, resolution.Problem ?? "The tool's action cannot be resolved.");
        }

        if (resolution.Action is not { } action)
        {
            // Fail closed: a tool nobody mapped to a capability is not callable through a protected server.
            return McpCallRefusal.Create("tool_not_secured", $"The tool '{tool}' has no [SecureAction] and no mapping, so it cannot be authorized.");
        }

        var arguments = parameters?.Arguments is { } args
            ? ActionResolver.OrderArguments(action, args.Select(a => new KeyValuePair<string, object?>(a.Key, a.Value)))
            : [];
        string? token = ReadToken(parameters?.Meta);
        if (AipTokenIdentity.Of(request.User) is { } fromHeaders)
        {
            // Over HTTP the token travels in a header; one also in _meta must be the same token, never a second one to pick from.
            if (token is not null && !string.Equals(token, fromHeaders, StringComparison.Ordinal))
            {
                return McpCallRefusal.Create("aip_token_malformed", "The request carries different AIP tokens in its headers and in _meta.aip_token.");
            }

            token = fromHeaders;
        }

        using var scope = _options.RequireToken ? AimDelegation.Require(token) : token is null ? null : AimDelegation.Use(token);
        try
        {
            return await runtime.InvokeValueTaskAsync(action, arguments, () => next(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (ActionDeniedException ex)
        {
            return McpCallRefusal.Create(ex.ReasonCode, ex.Message);
        }
        catch (AimException ex) when (ex is ApprovalTimeoutException or AimUnavailableException or AimConfigurationException)
        {
            return McpCallRefusal.Create(ex.Code, ex is AimConfigurationException ? "The server is not configured to authorize tool calls." : ex.Message);
        }
    }

    private ActionResolution Resolve(string tool, McpServerTool? primitive)
    {
        if (_options.Tools.TryGetValue(tool, out var mapped))
        {
            return new ActionResolution(ActionResolutionKind.Found, mapped);
        }

        return _actions.GetOrAdd(tool, static (_, primitive) => primitive is null ? default : FromTool(primitive), primitive);
    }

    // Once per tool. The MCP SDK keeps the tool method's attributes (Metadata) but not the method itself, so the one resolver
    // matches the declared [SecureAction] and the tool's name against the catalog; no unique match is a refusal.
    private static ActionResolution FromTool(McpServerTool primitive)
    {
        var attribute = primitive.Metadata.OfType<SecureActionAttribute>().LastOrDefault();
        return attribute is null ? default : ActionResolver.Resolve(attribute, primitive.ProtocolTool.Name);
    }

    /// <summary>
    /// Reads <c>_meta.aip_token</c>: absent or null is no token; a non-empty string is the token; anything else goes to step 4
    /// as written, where it fails verification as malformed (and the refusal is audited like every other).
    /// </summary>
    private static string? ReadToken(JsonObject? meta)
    {
        if (meta is null || !meta.TryGetPropertyValue(AimMcpOptions.TokenMetaKey, out var node) || node is null)
        {
            return null;
        }

        return node is JsonValue value && value.TryGetValue(out string? token) && !string.IsNullOrWhiteSpace(token) ? token : node.ToJsonString();
    }
}
