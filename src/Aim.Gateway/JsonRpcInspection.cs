using System.Text.Json;
using Aim.Tokens;

namespace Aim.Gateway;

/// <summary>One MCP <c>tools/call</c> found in a request body.</summary>
/// <param name="Name">The tool's name (<c>params.name</c>).</param>
/// <param name="Arguments">Its <c>params.arguments</c> object, kept only for tools that map to an action with parameters.</param>
internal readonly record struct ToolCall(string Name, JsonElement? Arguments);

/// <summary>
/// What the gateway needs from a JSON request body (MCP or A2A, single message or batch): the MCP tools it calls and the A2A
/// token in <c>params.metadata.aip_token</c>. Read with a pooled <see cref="JsonDocument"/> over the received bytes.
/// </summary>
/// <remarks>
/// The upstream must not be able to read a tool call the gateway did not see, so the reading is the most suspicious one an
/// upstream's parser could make: member names are matched ignoring ASCII case (a case-insensitive deserializer reads
/// <c>"Method"</c> as <c>method</c>), a name that appears twice in any case is refused, <c>tools/call</c> is recognised in any
/// case and with surrounding blanks, a method with characters outside printable ASCII is refused, and a batch entry that
/// is not an object, or a <c>tools/call</c> without a string tool name, is refused.
/// </remarks>
internal readonly record struct JsonRpcInspection(IReadOnlyList<ToolCall> Tools, string? A2AToken, AipException? TokenError)
{
    /// <summary>No JSON-RPC body: no tools, no token.</summary>
    public static JsonRpcInspection None { get; } = new([], null, null);

    private const string ToolsCall = "tools/call";

    private static readonly JsonDocumentOptions Options = new()
    {
        // One key twice could mean one tool to the gateway and another to the upstream: refused as malformed.
        AllowDuplicateProperties = false,
        MaxDepth = 64,
    };

    /// <summary>Inspects a JSON body.</summary>
    /// <param name="body">The received bytes.</param>
    /// <param name="keepArguments">Which tools need their <c>params.arguments</c> (null: none).</param>
    /// <returns>The inspection, or null when the body is not JSON the gateway can read unambiguously.</returns>
    public static JsonRpcInspection? Inspect(ReadOnlyMemory<byte> body, Func<string, bool>? keepArguments = null)
    {
        try
        {
            using var document = JsonDocument.Parse(body, Options);
            var root = document.RootElement;
            List<ToolCall>? tools = null;
            if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var message in root.EnumerateArray())
                {
                    if (message.ValueKind != JsonValueKind.Object)
                    {
                        return null;
                    }

                    if (!AddTool(message, keepArguments, ref tools))
                    {
                        return null;
                    }
                }

                return new JsonRpcInspection(tools ?? (IReadOnlyList<ToolCall>)[], null, null);
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                return None;
            }

            if (!AddTool(root, keepArguments, ref tools))
            {
                return null;
            }

            string? token = null;
            AipException? error = null;
            if (!TryMember(root, "params", out var parameters) || !TryMember(parameters, "metadata", out var metadata)
                || !TryMember(metadata, "aip_token", out var value))
            {
                return null;
            }

            if (value is { ValueKind: not JsonValueKind.Null } present)
            {
                if (present.ValueKind == JsonValueKind.String)
                {
                    token = WellFormed(present.GetString()!);
                }
                else
                {
                    error = new AipException(AipErrorCodes.TokenMalformed, "params.metadata.aip_token is not a string.");
                }
            }

            return new JsonRpcInspection(tools ?? (IReadOnlyList<ToolCall>)[], token, error);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            return null;
        }
    }

    // False when the message is ambiguous (a name twice in any case, a method outside printable ASCII, a tools/call without a tool name).
    private static bool AddTool(JsonElement message, Func<string, bool>? keepArguments, ref List<ToolCall>? tools)
    {
        if (!TryMember(message, "method", out var method))
        {
            return false;
        }

        if (method is not { ValueKind: JsonValueKind.String } text || !IsToolsCall(text))
        {
            return true;
        }

        if (!TryMember(message, "params", out var parameters) || parameters is not { ValueKind: JsonValueKind.Object } p
            || !TryMember(p, "name", out var name) || name is not { ValueKind: JsonValueKind.String } n
            || !TryMember(p, "arguments", out var arguments))
        {
            return false;
        }

        string tool = WellFormed(n.GetString()!);
        JsonElement? kept = arguments is { ValueKind: JsonValueKind.Object } a && keepArguments?.Invoke(tool) == true ? a.Clone() : null;
        (tools ??= []).Add(new ToolCall(tool, kept));
        return true;
    }

    private static bool IsToolsCall(JsonElement method)
    {
        if (method.ValueEquals("tools/call"u8))
        {
            return true;
        }

        string value = method.GetString()!;
        foreach (char c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new FormatException("A JSON-RPC method holds characters outside printable ASCII.");
            }
        }

        return value.AsSpan().Trim(' ').Equals(ToolsCall, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The member of <paramref name="element"/> whose name equals <paramref name="name"/> ignoring ASCII case. False when two
    /// members match (ambiguous); true with null when the element is not an object or has no such member.
    /// </summary>
    private static bool TryMember(JsonElement? element, string name, out JsonElement? value)
    {
        value = null;
        if (element is not { ValueKind: JsonValueKind.Object } o)
        {
            return true;
        }

        foreach (var property in o.EnumerateObject())
        {
            if (property.Name.Length == name.Length && property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                if (value is not null)
                {
                    return false;
                }

                value = property.Value;
            }
        }

        return true;
    }

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
