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
        if (!action.LogArguments && TryDigestPrimitives(names, args) is { } digested)
        {
            return new Recorded(digested, null);
        }

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

    [ThreadStatic]
    private static CanonicalJsonWriter? threadWriter;

    /// <summary>
    /// The digest of arguments that are all simple values (strings, booleans, integers, finite floating-point numbers,
    /// null), written straight as canonical JSON into a reused buffer: the bytes <see cref="CanonicalJson.Serialize"/>
    /// writes for the <see cref="JsonObject"/> that <see cref="Describe"/> would build, without building it. Null when
    /// an argument needs the general path (any other type, or two arguments under one name).
    /// </summary>
    private static string? TryDigestPrimitives(IReadOnlyList<string> names, object?[] args)
    {
        const int MaxFast = 16;
        if (args.Length > MaxFast || args.Length > names.Count)
        {
            return null;
        }

        foreach (var arg in args)
        {
            if (arg is not (null or string or bool or int or long or short or byte or sbyte or ushort or uint) && !(arg is double d && double.IsFinite(d)) && !(arg is float f && float.IsFinite(f)))
            {
                return null;
            }
        }

        // Members in RFC 8785 order (ordinal UTF-16), as CanonicalJson sorts a JsonObject's members.
        Span<int> order = stackalloc int[args.Length];
        for (int i = 0; i < order.Length; i++)
        {
            int j = i;
            while (j > 0 && string.CompareOrdinal(names[order[j - 1]], names[i]) > 0)
            {
                order[j] = order[j - 1];
                j--;
            }

            if (j > 0 && string.CompareOrdinal(names[order[j - 1]], names[i]) == 0)
            {
                return null; // a repeated name: the JsonObject would keep one member; leave that to the general path
            }

            order[j] = i;
        }

        var w = threadWriter ??= new CanonicalJsonWriter(256);
        w.Reset();
        try
        {
            w.StartObject();
            foreach (int i in order)
            {
                w.Key(names[i]);
                switch (args[i])
                {
                    case null:
                        w.Null();
                        break;
                    case string value:
                        w.String(value);
                        break;
                    case bool flag:
                        w.Boolean(flag);
                        break;
                    case double number:
                        w.Number(number);
                        break;
                    case float single:
                        w.Number(single);
                        break;
                    default:
                        // Integers become a long JsonValue, which CanonicalJson writes as a double.
                        w.Number(Convert.ToInt64(args[i], CultureInfo.InvariantCulture));
                        break;
                }
            }

            w.EndObject();
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(w.WrittenSpan, hash);
            Span<char> text = stackalloc char[7 + 64];
            "sha256:".CopyTo(text);
            Convert.TryToHexStringLower(hash, text[7..], out _);
            return new string(text);
        }
        finally
        {
            w.Reset();
        }
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
