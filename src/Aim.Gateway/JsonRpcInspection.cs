using System.Text.Json;
using Aim.Tokens;

namespace Aim.Gateway;

/// <summary>
/// What the gateway needs from a JSON-RPC body (MCP or A2A, single message or batch): the MCP tools it calls and the A2A
/// token in <c>params.metadata.aip_token</c>. Read with a pooled <see cref="JsonDocument"/> over the received bytes.
/// </summary>
internal readonly record struct JsonRpcInspection(IReadOnlyList<string> Tools, string? A2AToken, AipException? TokenError)
{
    /// <summary>No JSON-RPC body: no tools, no token.</summary>
    public static JsonRpcInspection None { get; } = new([], null, null);

    private static readonly JsonDocumentOptions Options = new()
    {
        // One key twice could mean one tool to the gateway and another to the upstream: refused as malformed.
        AllowDuplicateProperties = false,
        MaxDepth = 64,
    };

    /// <summary>Inspects a JSON body.</summary>
    /// <returns>The inspection, or null when the body is not valid JSON (duplicate keys and broken strings included).</returns>
    public static JsonRpcInspection? Inspect(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, Options);
            var root = document.RootElement;
            List<string>? tools = null;
            if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var message in root.EnumerateArray())
                {
                    AddTool(message, ref tools);
                }

                return new JsonRpcInspection(tools ?? (IReadOnlyList<string>)[], null, null);
            }

            AddTool(root, ref tools);
            string? token = null;
            AipException? error = null;
            if (Member(Member(root, "params"), "metadata") is { } metadata && metadata.TryGetProperty("aip_token", out var value)
                && value.ValueKind != JsonValueKind.Null)
            {
                if (value.ValueKind == JsonValueKind.String)
                {
                    token = WellFormed(value.GetString()!);
                }
                else
                {
                    error = new AipException(AipErrorCodes.TokenMalformed, "params.metadata.aip_token is not a string.");
                }
            }

            return new JsonRpcInspection(tools ?? (IReadOnlyList<string>)[], token, error);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    private static void AddTool(JsonElement message, ref List<string>? tools)
    {
        if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("method", out var method)
            && method.ValueKind == JsonValueKind.String && method.ValueEquals("tools/call"u8))
        {
            string name = Member(message, "params") is { } parameters && parameters.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                ? WellFormed(n.GetString()!)
                : string.Empty;
            (tools ??= []).Add(name);
        }
    }

    private static JsonElement? Member(JsonElement? element, string name) =>
        element is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    // Tool names and tokens go into signed audit records, whose codec refuses unpaired surrogates.
    private static string WellFormed(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                throw new ArgumentException("The string holds an unpaired surrogate.");
            }
        }

        return value;
    }
}
