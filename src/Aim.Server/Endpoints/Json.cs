using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aim.Server.Endpoints;

/// <summary>
/// The one JSON reading policy of every API endpoint: every malformed or mistyped body is a 400 with a stable code,
/// never a 500. A body must be valid UTF-8 and a single JSON object at most 32 levels deep, with no member name
/// repeated in any object and no unpaired UTF-16 surrogate (<c>\ud800</c>) in any name or string; such bodies are
/// <c>malformed_json</c>. Members are read only through the typed accessors below (<c>invalid_request</c> when a
/// member has the wrong type, length or range).
/// </summary>
internal static class RequestJson
{
    private const int MaxDepth = 32;

    private static readonly JsonDocumentOptions Strict = new() { MaxDepth = MaxDepth, AllowDuplicateProperties = false };

    /// <exception cref="ApiException"><c>malformed_json</c> (400) when the body breaks the policy.</exception>
    public static JsonObject Object(byte[] body)
    {
        if (body.Length == 0)
        {
            return [];
        }

        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw ApiException.BadRequest(ErrorCodes.MalformedJson, "The body is not valid UTF-8.");
        }

        try
        {
            // Validated as a document first: JsonNode materializes objects lazily, so a repeated name or a bad escape
            // would otherwise surface later, as an exception in whatever code first reads the member.
            using (var document = JsonDocument.Parse(body, Strict))
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw ApiException.BadRequest(ErrorCodes.MalformedJson, "The body must be a JSON object.");
                }

                if (!WellFormedTextOrFalse(document.RootElement))
                {
                    throw ApiException.BadRequest(ErrorCodes.MalformedJson, "The body holds a name or string with an unpaired UTF-16 surrogate.");
                }
            }

            return (JsonObject)JsonNode.Parse(body, documentOptions: Strict)!;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // InvalidOperationException: System.Text.Json cannot decode some escapes (an unpaired surrogate in a member name).
            throw ApiException.BadRequest(ErrorCodes.MalformedJson, "The body is not valid JSON (or repeats a member name).");
        }
    }

    private static bool WellFormedTextOrFalse(JsonElement root)
    {
        try
        {
            return WellFormedText(root);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json refuses to decode some unpaired surrogate escapes at all.
            return false;
        }
    }

    // Escapes such as \ud800 decode to text that cannot be written back as UTF-8: refused here rather than at signing or storage time.
    private static bool WellFormedText(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsWellFormed(property.Name) || !WellFormedText(property.Value))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (!WellFormedText(item))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.String:
                return IsWellFormed(element.GetString()!);
            default:
                return true;
        }
    }

    /// <summary>True when <paramref name="text"/> has no unpaired surrogate (it round-trips through UTF-8).</summary>
    internal static bool IsWellFormed(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    public static string? String(JsonObject o, string name, int maxLength = 256, bool required = false)
    {
        var node = o[name];
        if (node is null)
        {
            return required ? throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' is required.") : null;
        }

        if (node is not JsonValue v || !v.TryGetValue<string>(out var s))
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be a string.");
        }

        if (s.Length > maxLength || (required && s.Length == 0))
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be 1 to {maxLength} characters.");
        }

        return s;
    }

    public static bool Bool(JsonObject o, string name)
    {
        var node = o[name];
        if (node is null)
        {
            return false;
        }

        return node is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be true or false.");
    }

    public static double? Number(JsonObject o, string name, double min, double max)
    {
        var node = o[name];
        if (node is null)
        {
            return null;
        }

        if (node is not JsonValue v || !v.TryGetValue<double>(out var d) || double.IsNaN(d) || d < min || d > max)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be a number from {min} to {max}.");
        }

        return d;
    }

    public static List<string> Strings(JsonObject o, string name, int maxCount = 64)
    {
        if (o[name] is not JsonArray array || array.Count == 0 || array.Count > maxCount)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be an array of 1 to {maxCount} strings.");
        }

        var list = new List<string>(array.Count);
        foreach (var item in array)
        {
            if (item is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length is 0 or > 256)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be an array of 1 to {maxCount} strings.");
            }

            list.Add(s);
        }

        return list;
    }

    public static long QueryLong(HttpContext context, string name, long defaultValue, long min, long max)
    {
        var raw = context.Request.Query[name];
        if (raw.Count == 0)
        {
            return defaultValue;
        }

        if (raw.Count > 1 || !long.TryParse(raw[0], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"Query parameter '{name}' must be an integer from {min} to {max}.");
        }

        return value;
    }

    public static string? QueryString(HttpContext context, string name, int maxLength = 256)
    {
        var raw = context.Request.Query[name];
        if (raw.Count == 0)
        {
            return null;
        }

        if (raw.Count > 1 || raw[0] is not { } s || s.Length > maxLength)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"Query parameter '{name}' is not valid.");
        }

        return s;
    }

    public static string Time(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static string? Time(long? unixMs) => unixMs is { } t ? Time(t) : null;
}
