namespace Aim.Identity;

/// <summary>
/// Rules for agent names used as key store file names: 1 to 64 characters of <c>a-z 0-9 . _ -</c>,
/// starting with a letter or digit, never <c>..</c>. Input is lower-cased first.
/// </summary>
public static class AgentName
{
    /// <summary>The longest accepted name.</summary>
    public const int MaxLength = 64;

    /// <summary>Returns the normalized (lower-case) name, or throws.</summary>
    /// <exception cref="KeyStoreException">Code <see cref="KeyStoreException.NameInvalid"/>: the name breaks a rule (the message says which).</exception>
    public static string Normalize(string? name)
    {
        var error = Validate(name, out var normalized);
        return error is null ? normalized : throw new KeyStoreException(KeyStoreException.NameInvalid, null, error);
    }

    /// <summary>True when <paramref name="name"/> is acceptable (after lower-casing).</summary>
    public static bool IsValid(string? name) => Validate(name, out _) is null;

    private static string? Validate(string? name, out string normalized)
    {
        normalized = string.Empty;
        if (string.IsNullOrEmpty(name))
        {
            return "An agent name must not be empty.";
        }

        if (name.Length > MaxLength)
        {
            return $"An agent name is at most {MaxLength} characters, got {name.Length}.";
        }

        // Only ASCII is lowered: culture-aware lowering maps some non-ASCII letters (Kelvin sign, dotted I) onto ASCII.
        // A name that is already lower-case is returned as is (no allocation on the hot path).
        var lowered = name.AsSpan().IndexOfAnyInRange('A', 'Z') < 0
            ? name
            : string.Create(name.Length, name, static (span, source) =>
            {
                for (int i = 0; i < source.Length; i++)
                {
                    char c = source[i];
                    span[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
                }
            });
        for (int i = 0; i < lowered.Length; i++)
        {
            char c = lowered[i];
            bool alnum = c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
            if (i == 0 && !alnum)
            {
                return "An agent name must start with a letter or a digit.";
            }

            if (!alnum && c is not ('.' or '_' or '-'))
            {
                return $"An agent name may only contain a-z, 0-9, '.', '_' and '-' (found {Describe(c)} at position {i}).";
            }
        }

        if (lowered.Contains("..", StringComparison.Ordinal))
        {
            return "An agent name must not contain '..'.";
        }

        normalized = lowered;
        return null;
    }

    private static string Describe(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : $"'{c}'";
}
