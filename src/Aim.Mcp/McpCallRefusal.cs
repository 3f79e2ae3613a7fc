using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;

namespace Aim.Mcp;

/// <summary>
/// How a refused <c>tools/call</c> is answered: a tool result with <c>isError: true</c> whose structured content and
/// text are the AIP error JSON <c>{"error":{"code","message"}}</c>, so the calling model and the client both see why.
/// </summary>
public static class McpCallRefusal
{
    /// <summary>The <c>_meta</c> key of a refused result that repeats the code (for clients that ignore content).</summary>
    public const string CodeMetaKey = "aim_refusal_code";

    /// <summary>Builds the refusal result.</summary>
    public static CallToolResult Create(string code, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        var error = new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };
        string text = error.ToJsonString();
        return new CallToolResult
        {
            IsError = true,
            Content = [new TextContentBlock { Text = text }],
            StructuredContent = JsonSerializer.SerializeToElement(error),
            Meta = new JsonObject { [CodeMetaKey] = code },
        };
    }

    /// <summary>The refusal code of a result, or null when the result is not an Aim refusal.</summary>
    public static string? ReadCode(CallToolResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.IsError != true)
        {
            return null;
        }

        if (result.Meta?[CodeMetaKey] is JsonValue value && value.TryGetValue(out string? code))
        {
            return code;
        }

        if (result.StructuredContent is { ValueKind: JsonValueKind.Object } structured
            && structured.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
            && error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String)
        {
            return c.GetString();
        }

        return null;
    }
}
