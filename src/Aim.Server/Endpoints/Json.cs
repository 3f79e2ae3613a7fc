using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aim.Server.Endpoints;

/// <summary>Strict request-body reading: every malformed or mistyped body is a 400 with a stable code.</summary>
internal static class RequestJson
{
    public static JsonObject Object(byte[] body)
    {
        if (body.Length == 0)
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 32 }) as JsonObject
                ?? throw ApiException.BadRequest(ErrorCodes.MalformedJson, "The body must be a JSON object.");
        }
        catch (JsonException)
        {
            throw ApiException.BadRequest(ErrorCodes.MalformedJson, "The body is not valid JSON.");
        }
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
