using System.Globalization;
using System.Text;

namespace Aim.Intent;

/// <summary>
/// Builds the text the classifier reads from an action: capability, resource, method name,
/// description and arguments as <c>name=value</c>, values formatted with the invariant culture.
/// Training examples go through the same builder, so the two never drift apart.
/// </summary>
public static class IntentText
{
    /// <summary>The most chars one argument value contributes.</summary>
    public const int MaxValueLength = Aim.Authorization.ActionText.MaxValueLength;

    /// <summary>The most items of a sequence argument formatted.</summary>
    public const int MaxSequenceItems = Aim.Authorization.ActionText.MaxSequenceItems;

    /// <summary>Joins capability, resource and an already-formatted input (the corpus form).</summary>
    public static string Build(string? capability, string? resource, string? input)
    {
        var text = new StringBuilder();
        Append(text, capability);
        Append(text, resource);
        Append(text, input);
        return text.ToString();
    }

    /// <summary>Builds the text of an action call.</summary>
    /// <param name="capability">The capability, for example <c>shell:exec</c>.</param>
    /// <param name="resource">The resource (may be null).</param>
    /// <param name="method">The method name (may be null).</param>
    /// <param name="description">The declared purpose (may be null).</param>
    /// <param name="parameterNames">Argument names, parallel to <paramref name="arguments"/>.</param>
    /// <param name="arguments">Argument values; an argument whose formatting throws appears as <c>&lt;unformattable&gt;</c>.</param>
    public static string Build(
        string? capability,
        string? resource,
        string? method,
        string? description,
        IReadOnlyList<string>? parameterNames,
        IReadOnlyList<object?>? arguments)
        => Build(capability, resource, method, description, parameterNames, arguments, valueRanges: null);

    /// <summary>As the public overload, and records where each argument value sits in the text (so evidence can withhold values).</summary>
    internal static string Build(
        string? capability,
        string? resource,
        string? method,
        string? description,
        IReadOnlyList<string>? parameterNames,
        IReadOnlyList<object?>? arguments,
        List<ArgumentRange>? valueRanges)
    {
        var text = new StringBuilder();
        Append(text, capability);
        Append(text, resource);
        Append(text, method);
        Append(text, description);
        var count = arguments?.Count ?? 0;
        for (var i = 0; i < count; i++)
        {
            var name = parameterNames is not null && i < parameterNames.Count ? parameterNames[i] : "arg" + i.ToString(CultureInfo.InvariantCulture);
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(name).Append('=');
            var start = text.Length;
            Aim.Authorization.ActionText.AppendValue(text, arguments![i]);
            valueRanges?.Add(new ArgumentRange(name, start, text.Length));
        }

        return text.ToString();
    }

    /// <summary>Formats one argument value the way <see cref="Build(string?, string?, string?, string?, IReadOnlyList{string}?, IReadOnlyList{object?}?)"/> does.</summary>
    public static string FormatValue(object? value) => Aim.Authorization.ActionText.FormatValue(value);

    private static void Append(StringBuilder text, string? part)
    {
        if (string.IsNullOrEmpty(part))
        {
            return;
        }

        if (text.Length > 0)
        {
            text.Append(' ');
        }

        text.Append(part);
    }
}

/// <summary>Where one argument's value sits in an action text: [Start, End).</summary>
internal readonly record struct ArgumentRange(string Name, int Start, int End);
