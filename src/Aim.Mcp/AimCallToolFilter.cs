using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.AI;
using Aim.Audit;
using Aim.Tokens;
using Aim.Tokens.Verification;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Aim.Mcp;

/// <summary>
/// The server side: for each <c>tools/call</c>, find the tool's action (its <c>[SecureAction]</c> or a mapping), verify the
/// caller's AIP token from <c>_meta.aip_token</c>, then run the tool through <see cref="AimRuntime"/> (authorize, approve,
/// run, sign, audit). Refusals are audited and answered with <see cref="McpCallRefusal"/>; the tool never runs.
/// </summary>
public sealed class AimCallToolFilter
{
    private readonly AimMcpOptions _options;
    private readonly ConcurrentDictionary<string, ActionDescriptor?> _actions = new(StringComparer.Ordinal);

    /// <summary>Creates the filter.</summary>
    /// <exception cref="AimConfigurationException">A token is required but no verifier is configured.</exception>
    public AimCallToolFilter(AimMcpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RequireToken && options.Verifier is null)
        {
            throw new AimConfigurationException("AimMcpOptions.Verifier is required when RequireToken is true (the default).");
        }

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
        var action = Resolve(tool, request.MatchedPrimitive as McpServerTool);
        if (action is null)
        {
            // Fail closed: a tool nobody mapped to a capability is not callable through a protected server.
            return McpCallRefusal.Create("tool_not_secured", $"The tool '{tool}' has no [SecureAction] and no mapping, so it cannot be authorized.");
        }

        string? token;
        try
        {
            token = ReadToken(parameters?.Meta);
        }
        catch (AipException ex)
        {
            return await RefuseAsync(runtime, action, tool, ex, cancellationToken).ConfigureAwait(false);
        }

        if (token is null && _options.RequireToken)
        {
            return await RefuseAsync(runtime, action, tool, new AipException(AipErrorCodes.TokenMissing, $"The call to '{tool}' carries no AIP token (_meta.{AimMcpOptions.TokenMetaKey})."), cancellationToken).ConfigureAwait(false);
        }

        if (token is not null && _options.Verifier is not null)
        {
            try
            {
                await _options.Verifier.VerifyAsync(token, new AipAccessRequest(action.CapabilityName), cancellationToken).ConfigureAwait(false);
            }
            catch (AipException ex)
            {
                return await RefuseAsync(runtime, action, tool, ex, cancellationToken).ConfigureAwait(false);
            }
        }

        var arguments = parameters?.Arguments is { } args
            ? ActionLookup.OrderArguments(action, args.Select(a => new KeyValuePair<string, object?>(a.Key, a.Value)))
            : [];
        using var scope = token is not null && _options.FlowTokenToCallPath ? AimDelegation.Use(token) : null;
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

    private ActionDescriptor? Resolve(string tool, McpServerTool? primitive)
    {
        if (_options.Tools.TryGetValue(tool, out var mapped))
        {
            return mapped;
        }

        return _actions.GetOrAdd(tool, static (_, primitive) => primitive is null ? null : FromTool(primitive), primitive);
    }

    // Once per tool: the catalog entry of the tool's method when the SDK exposes it, else the [SecureAction] among the
    // attributes the SDK collected for the tool (Metadata), read as a descriptor.
    private static ActionDescriptor? FromTool(McpServerTool primitive)
    {
        var attribute = primitive.Metadata.OfType<SecureActionAttribute>().LastOrDefault();
        if (attribute is null)
        {
            return null;
        }

        string toolKey = Simplify(primitive.ProtocolTool.Name);
        foreach (var candidate in ActionCatalog.All)
        {
            if (candidate.CapabilityName == attribute.Capability && candidate.Resource == attribute.Resource
                && MethodName(candidate.Method) is { } name && (Simplify(name) == toolKey || Simplify(name) == toolKey + "async"))
            {
                return candidate;
            }
        }

        return new ActionDescriptor(
            attribute.Capability, attribute.Resource, attribute.RiskLevel, attribute.JitAccess, attribute.JitTimeoutSeconds,
            attribute.LogArguments, attribute.LogResult, attribute.Description ?? primitive.ProtocolTool.Description,
            "mcp:" + primitive.ProtocolTool.Name, [.. ParameterNames(primitive.ProtocolTool.InputSchema)]);
    }

    // "Shop.Tools.LookupOrder(string)" -> "LookupOrder"
    private static string? MethodName(string identity)
    {
        int open = identity.IndexOf('(', StringComparison.Ordinal);
        int dot = open < 0 ? -1 : identity.LastIndexOf('.', open);
        return dot < 0 ? null : identity[(dot + 1)..open];
    }

    // The SDK derives tool names in snake_case by default: compare without separators or case.
    private static string Simplify(string name) => new([.. name.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);

    private static IEnumerable<string> ParameterNames(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object
            ? properties.EnumerateObject().Select(p => p.Name)
            : [];

    /// <summary>Reads <c>_meta.aip_token</c>: absent or null is no token; anything but a non-empty string is malformed.</summary>
    private static string? ReadToken(JsonObject? meta)
    {
        if (meta is null || !meta.TryGetPropertyValue(AimMcpOptions.TokenMetaKey, out var node) || node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.TryGetValue(out string? token) && !string.IsNullOrWhiteSpace(token))
        {
            return token;
        }

        throw new AipException(AipErrorCodes.TokenMalformed, $"_meta.{AimMcpOptions.TokenMetaKey} must be a non-empty string.");
    }

    private static async ValueTask<CallToolResult> RefuseAsync(AimRuntime runtime, ActionDescriptor action, string tool, AipException error, CancellationToken cancellationToken)
    {
        if (runtime.IsOperational)
        {
            // The refusal happens before the call path, so it is recorded here: same log, same signed record shape.
            var record = new AuditRecord
            {
                ActionId = Guid.CreateVersion7().ToString("N"),
                Kind = AuditEntryKind.Denied,
                AgentId = runtime.Agent.Id.ToString(),
                AgentName = runtime.Agent.Name,
                Capability = action.CapabilityName,
                Resource = action.Resource,
                Risk = action.EffectiveRisk,
                Decision = "deny",
                ReasonCode = error.Code,
                Reason = error.Message,
                Method = action.Method,
                Details = new JsonObject { ["front_door"] = "mcp", ["tool"] = tool, ["step"] = "chain" },
            };
            try
            {
                await runtime.Engine.RecordAsync(record, waitForDurable: true, cancellationToken).ConfigureAwait(false);
            }
            catch (AimException)
            {
                // The call is refused either way; the engine logs its own storage failures.
            }
        }

        return McpCallRefusal.Create(error.Code, error.Message);
    }
}
