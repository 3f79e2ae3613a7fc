using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aim.Json;

/// <summary>
/// RFC 8785 JSON Canonicalization Scheme (JCS): object members sorted by their UTF-16 code units,
/// numbers in ECMAScript form, minimal string escaping, no insignificant whitespace. Two JSON texts
/// with the same data canonicalize to the same bytes, which is what makes them safe to sign and hash.
/// </summary>
public static class CanonicalJson
{
    /// <summary>Serializes a JSON node to canonical UTF-8 bytes; <see langword="null"/> gives <c>null</c>.</summary>
    /// <exception cref="CanonicalJsonException">A number is NaN or infinite, a string holds an unpaired surrogate,
    /// or the node is nested deeper than 64 levels.</exception>
    public static byte[] Serialize(JsonNode? node)
    {
        var writer = new CanonicalJsonWriter();
        Write(writer, node);
        return writer.ToArray();
    }

    /// <summary>Canonicalizes a JSON text.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="CanonicalJsonException">The text is not valid JSON, an object repeats a key, a number is
    /// outside the IEEE 754 double range, or a string holds an unpaired surrogate.</exception>
    public static string Canonicalize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Encoding.UTF8.GetString(CanonicalizeToUtf8(Encoding.UTF8.GetBytes(json)));
    }

    /// <summary>Canonicalizes a UTF-8 JSON text into canonical UTF-8 bytes.</summary>
    /// <exception cref="CanonicalJsonException">As for <see cref="Canonicalize(string)"/>.</exception>
    public static byte[] CanonicalizeToUtf8(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw new CanonicalJsonException($"Not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var writer = new CanonicalJsonWriter(utf8Json.Length + 16);
            Write(writer, document.RootElement);
            return writer.ToArray();
        }
    }

    /// <summary>The RFC 8785 member order: ordinal comparison of UTF-16 code units.</summary>
    internal static int CompareKeys(string a, string b) => string.CompareOrdinal(a, b);

    internal static void Write(CanonicalJsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.Null();
                break;
            case JsonObject obj:
                var members = new List<KeyValuePair<string, JsonNode?>>(obj.Count);
                foreach (var member in obj)
                {
                    members.Add(member);
                }

                members.Sort(static (x, y) => CompareKeys(x.Key, y.Key));
                writer.StartObject();
                foreach (var (key, value) in members)
                {
                    writer.Key(key);
                    Write(writer, value);
                }

                writer.EndObject();
                break;
            case JsonArray array:
                writer.StartArray();
                foreach (var item in array)
                {
                    Write(writer, item);
                }

                writer.EndArray();
                break;
            case JsonValue value:
                WriteValue(writer, value);
                break;
            default:
                throw new CanonicalJsonException($"Unsupported JSON node type {node.GetType().Name}.");
        }
    }

    private static void WriteValue(CanonicalJsonWriter writer, JsonValue value)
    {
        if (value.TryGetValue<JsonElement>(out var element))
        {
            Write(writer, element);
        }
        else if (value.TryGetValue<string>(out var s))
        {
            writer.String(s);
        }
        else if (value.TryGetValue<bool>(out var b))
        {
            writer.Boolean(b);
        }
        else if (value.TryGetValue<double>(out var d))
        {
            writer.Number(d);
        }
        else if (value.TryGetValue<int>(out var i))
        {
            writer.Integer(i);
        }
        else if (value.TryGetValue<long>(out var l))
        {
            writer.Number(l);
        }
        else
        {
            // Any other CLR value (decimal, Guid, DateTime, char, ...): take its JSON form, then canonicalize it.
            string json;
            try
            {
                json = value.ToJsonString();
            }
            catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or ArgumentException)
            {
                throw new CanonicalJsonException($"A JSON value of type {value.GetValueKind()} cannot be serialized: {ex.Message}", ex);
            }

            writer.Raw(CanonicalizeToUtf8(Encoding.UTF8.GetBytes(json)));
        }
    }

    internal static void Write(CanonicalJsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<(string Key, JsonElement Value)>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var name = ReadString(() => property.Name);
                    if (!seen.Add(name))
                    {
                        throw new CanonicalJsonException($"Duplicate object key '{name}'.");
                    }

                    members.Add((name, property.Value));
                }

                members.Sort(static (x, y) => CompareKeys(x.Key, y.Key));
                writer.StartObject();
                foreach (var (key, value) in members)
                {
                    writer.Key(key);
                    Write(writer, value);
                }

                writer.EndObject();
                break;
            case JsonValueKind.Array:
                writer.StartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.EndArray();
                break;
            case JsonValueKind.String:
                writer.String(ReadString(() => element.GetString()!));
                break;
            case JsonValueKind.Number:
                var raw = element.GetRawText();
                if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                {
                    throw new CanonicalJsonException($"The number {Truncate(raw)} is outside the IEEE 754 double range.");
                }

                writer.Number(number);
                break;
            case JsonValueKind.True:
                writer.Boolean(true);
                break;
            case JsonValueKind.False:
                writer.Boolean(false);
                break;
            case JsonValueKind.Null:
                writer.Null();
                break;
            default:
                throw new CanonicalJsonException($"Unexpected JSON token {element.ValueKind}.");
        }
    }

    private static string ReadString(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException ex)
        {
            throw new CanonicalJsonException("A string holds an unpaired UTF-16 surrogate, which JSON (RFC 8785) cannot represent.", ex);
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
