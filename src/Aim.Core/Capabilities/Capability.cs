namespace Aim.Capabilities;

/// <summary>
/// A permission an action needs, written <c>namespace:action</c> (for example <c>payment:refund</c>,
/// <c>auth:reset_password</c>). Each part starts with a lower-case ASCII letter followed by lower-case
/// letters, digits, <c>_</c> or <c>-</c>; exactly one colon. Immutable; compared ordinally.
/// </summary>
public sealed class Capability : IEquatable<Capability>
{
    /// <summary>The longest accepted part (namespace or action).</summary>
    public const int MaxPartLength = 64;

    private Capability(string value, int colon)
    {
        Value = value;
        Namespace = value[..colon];
        Action = value[(colon + 1)..];
    }

    /// <summary>The whole capability, <c>namespace:action</c>.</summary>
    public string Value { get; }

    /// <summary>The part before the colon.</summary>
    public string Namespace { get; }

    /// <summary>The part after the colon.</summary>
    public string Action { get; }

    /// <summary>Parses a capability.</summary>
    /// <exception cref="CapabilityFormatException">The text is not <c>namespace:action</c> (the message says why).</exception>
    public static Capability Parse(string text)
    {
        var error = Validate(text, out int colon);
        return error is null ? new Capability(text, colon) : throw new CapabilityFormatException(error);
    }

    /// <summary>Parses a capability; returns false (and null) when it is malformed.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Capability? capability)
    {
        if (Validate(text, out int colon) is null)
        {
            capability = new Capability(text!, colon);
            return true;
        }

        capability = null;
        return false;
    }

    /// <summary>True when <paramref name="text"/> is a well-formed capability.</summary>
    public static bool IsValid(string? text) => Validate(text, out _) is null;

    /// <summary>Says what is wrong with <paramref name="text"/>, or null when it is a valid capability.</summary>
    public static string? Explain(string? text) => Validate(text, out _);

    /// <inheritdoc/>
    public bool Equals(Capability? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Capability);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>Equality by value.</summary>
    public static bool operator ==(Capability? left, Capability? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality by value.</summary>
    public static bool operator !=(Capability? left, Capability? right) => !(left == right);

    /// <summary>The capability text.</summary>
    public override string ToString() => Value;

    /// <summary>Checks one part (namespace or action); returns an error message or null.</summary>
    internal static string? ValidatePart(ReadOnlySpan<char> part, string which, string whole)
    {
        if (part.IsEmpty)
        {
            return $"Capability '{Quote(whole)}' has an empty {which}.";
        }

        if (part.Length > MaxPartLength)
        {
            return $"Capability {which} is longer than {MaxPartLength} characters.";
        }

        if (part[0] is not (>= 'a' and <= 'z'))
        {
            return $"Capability '{Quote(whole)}': the {which} must start with a lower-case letter a-z (found {Describe(part[0])}).";
        }

        for (int i = 1; i < part.Length; i++)
        {
            char c = part[i];
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-'))
            {
                return $"Capability '{Quote(whole)}': the {which} may only contain a-z, 0-9, '_' and '-' (found {Describe(c)}).";
            }
        }

        return null;
    }

    internal static string Quote(string text) => Sanitize(text.Length > 80 ? string.Concat(text.AsSpan(0, 80), "…") : text);

    private static string? Validate(string? text, out int colon)
    {
        colon = -1;
        if (string.IsNullOrEmpty(text))
        {
            return "A capability must not be empty; write namespace:action, for example db:read.";
        }

        if (text.Length > 2 * MaxPartLength + 1)
        {
            return $"A capability is at most {2 * MaxPartLength + 1} characters, got {text.Length}.";
        }

        colon = text.IndexOf(':');
        if (colon < 0)
        {
            return $"Capability '{Quote(text)}' has no colon; write namespace:action, for example db:read.";
        }

        if (text.IndexOf(':', colon + 1) >= 0)
        {
            return $"Capability '{Quote(text)}' has more than one colon; write namespace:action.";
        }

        return ValidatePart(text.AsSpan(0, colon), "namespace", text) ?? ValidatePart(text.AsSpan(colon + 1), "action", text);
    }

    private static string Describe(char c) =>
        c is >= 'A' and <= 'Z' ? $"upper-case '{c}'; capabilities are lower-case" : char.IsControl(c) || char.IsWhiteSpace(c) || c > '~' ? $"U+{(int)c:X4}" : $"'{c}'";

    private static string Sanitize(string text) =>
        string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
}
