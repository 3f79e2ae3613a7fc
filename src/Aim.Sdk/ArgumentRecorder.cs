using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Json;

namespace Aim;

/// <summary>
/// Turns call arguments into what the audit log keeps: always a SHA-256 digest of their canonical JSON,
/// and the values themselves only when the action opts in with <c>LogArguments</c>.
/// </summary>
internal static class ArgumentRecorder
{
    internal readonly record struct Recorded(string? Digest, JsonObject? Values);

    public static Recorded Describe(ActionDescriptor action, object?[]? args)
    {
        if (args is null || args.Length == 0)
        {
            return default;
        }

        var names = action.ParameterNames;
        var values = new JsonObject();
        for (int i = 0; i < args.Length; i++)
        {
            string name = i < names.Count ? names[i] : "arg" + i.ToString(CultureInfo.InvariantCulture);
            values[name] = ToJson(args[i]);
        }

        var canonical = CanonicalJson.Serialize(values);
        string digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(canonical));
        return new Recorded(digest, action.LogArguments ? values : null);
    }

    public static JsonNode? ToJson(object? value)
    {
        switch (value)
        {
            case null:
                return null;
            case string s:
                return JsonValue.Create(s);
            case bool b:
                return JsonValue.Create(b);
            case int or long or short or byte or sbyte or ushort or uint:
                return JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case ulong ul:
                return JsonValue.Create(ul.ToString(CultureInfo.InvariantCulture));
            case double d when double.IsFinite(d):
                return JsonValue.Create(d);
            case float f when float.IsFinite(f):
                return JsonValue.Create((double)f);
            case double or float:
                return JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture));
            case decimal m:
                // Decimal keeps its exact text: canonical JSON numbers are doubles and would round money.
                return JsonValue.Create(m.ToString(CultureInfo.InvariantCulture));
            case Guid g:
                return JsonValue.Create(g.ToString());
            case DateTimeOffset dto:
                return JsonValue.Create(dto.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            case DateTime dt:
                return JsonValue.Create(dt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            case Enum e:
                return JsonValue.Create(e.ToString());
            case CancellationToken:
                return null;
            case byte[] bytes:
                return JsonValue.Create("base64:" + Convert.ToBase64String(bytes));
        }

        try
        {
            return JsonSerializer.SerializeToNode(value, value.GetType());
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            return JsonValue.Create("<unserializable " + value.GetType().FullName + ">");
        }
    }
}
