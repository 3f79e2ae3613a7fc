using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Aim.Authorization;

/// <summary>
/// How an action's argument values read as text: the one formatting shared by the intent check (step 5) and the remote
/// engine, which sends these strings to the server when the agent shares its action text, so the server's step 5 reads
/// exactly what the embedded one reads.
/// </summary>
public static class ActionText
{
    /// <summary>The most chars one argument value contributes.</summary>
    public const int MaxValueLength = 4096;

    /// <summary>The most items of a sequence argument formatted.</summary>
    public const int MaxSequenceItems = 32;

    /// <summary>Formats one argument value (invariant culture; a value whose formatting throws reads <c>&lt;unformattable&gt;</c>).</summary>
    public static string FormatValue(object? value)
    {
        var text = new StringBuilder();
        AppendValue(text, value);
        return text.ToString();
    }

    /// <summary>Appends one formatted argument value to <paramref name="text"/>.</summary>
    public static void AppendValue(StringBuilder text, object? value) => AppendValue(text, value, depth: 0);

    private static void AppendValue(StringBuilder text, object? value, int depth)
    {
        string formatted;
        try
        {
            formatted = value switch
            {
                null => "null",
                string s => s,
                bool b => b ? "true" : "false",
                byte[] bytes => $"<{bytes.Length} bytes>",
                JsonNode node => node.ToJsonString(),
                IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
                IEnumerable sequence when depth < 2 => FormatSequence(sequence, depth),
                _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
            };
        }
        catch (Exception)
        {
            // A hostile or broken ToString must not break authorization; the value just goes unread.
            formatted = "<unformattable>";
        }

        text.Append(formatted.Length > MaxValueLength ? formatted.AsSpan(0, MaxValueLength) : formatted);
    }

    private static string FormatSequence(IEnumerable sequence, int depth)
    {
        var text = new StringBuilder("[");
        var n = 0;
        foreach (var item in sequence)
        {
            if (n == MaxSequenceItems)
            {
                text.Append(", ...");
                break;
            }

            if (n++ > 0)
            {
                text.Append(", ");
            }

            AppendValue(text, item, depth + 1);
            if (text.Length > MaxValueLength)
            {
                break;
            }
        }

        return text.Append(']').ToString();
    }
}
