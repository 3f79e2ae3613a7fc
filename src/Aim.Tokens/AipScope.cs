namespace Aim.Tokens;

/// <summary>
/// AIP scopes. A scope is a literal such as <c>tool:search</c> or <c>db:read</c>, or a prefix pattern ending in
/// <c>:*</c> such as <c>tool:*</c> (every scope that starts with <c>tool:</c>). An Aim capability maps to the AIP scope
/// with the same string: the capability <c>db:read</c> is allowed by the scope <c>db:read</c> or by <c>db:*</c>.
/// </summary>
public static class AipScope
{
    /// <summary>Longest scope string accepted (longer input is a malformed token).</summary>
    public const int MaxLength = 256;

    /// <summary>
    /// True when <paramref name="scope"/> is well formed: 1-256 printable ASCII characters without spaces, quotes or
    /// backslashes; a <c>*</c> only as the final character and only right after a <c>:</c> (or as the whole of <c>*</c>
    /// is refused: a root must name what it grants).
    /// </summary>
    public static bool IsValid(string? scope)
    {
        if (string.IsNullOrEmpty(scope) || scope.Length > MaxLength)
        {
            return false;
        }

        for (var i = 0; i < scope.Length; i++)
        {
            var c = scope[i];
            if (c <= ' ' || c > '~' || c == '"' || c == '\\')
            {
                return false;
            }

            if (c == '*' && (i != scope.Length - 1 || i == 0 || scope[i - 1] != ':'))
            {
                return false;
            }
        }

        return scope[0] != ':';
    }

    /// <summary>
    /// True when <paramref name="scope"/> is a pattern as the AIP draft's Standard profile writes them in a chained token's
    /// tool check: a bare <c>*</c> (every tool), or any printable prefix followed by a final <c>*</c>
    /// (<c>$t.starts_with(prefix)</c>). Every pattern <see cref="IsValid"/> accepts is one; this also admits the
    /// reference's <c>*</c> and prefixes that do not end in <c>:</c>, which Aim reads but does not mint.
    /// </summary>
    public static bool IsValidPattern(string? scope)
    {
        if (string.IsNullOrEmpty(scope) || scope.Length > MaxLength || scope[^1] != '*')
        {
            return false;
        }

        for (var i = 0; i < scope.Length - 1; i++)
        {
            var c = scope[i];
            if (c <= ' ' || c > '~' || c == '"' || c == '\\' || c == '*')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the scope is a prefix pattern (<c>…:*</c>, or in a chained token <c>*</c> and <c>prefix*</c>).</summary>
    public static bool IsPattern(string scope) => scope.Length > 0 && scope[^1] == '*';

    /// <summary>
    /// True when <paramref name="scope"/> (a literal or a pattern) allows <paramref name="tool"/> (a literal). A pattern
    /// allows every tool that starts with its prefix, as the Datalog <c>$t.starts_with(prefix)</c> does.
    /// </summary>
    public static bool Allows(string scope, string tool) =>
        IsPattern(scope)
            ? tool.AsSpan().StartsWith(scope.AsSpan(0, scope.Length - 1), StringComparison.Ordinal)
            : string.Equals(scope, tool, StringComparison.Ordinal);

    /// <summary>True when any of <paramref name="scopes"/> allows <paramref name="tool"/>.</summary>
    public static bool AnyAllows(IReadOnlyList<string> scopes, string tool)
    {
        for (var i = 0; i < scopes.Count; i++)
        {
            if (Allows(scopes[i], tool))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when <paramref name="child"/> is no wider than <paramref name="parent"/>: a literal child must be allowed by a
    /// parent scope; a pattern child must sit under a parent pattern (<c>tool:web:*</c> under <c>tool:*</c>), never under a literal.
    /// </summary>
    public static bool Covers(string parent, string child)
    {
        if (!IsPattern(child))
        {
            return Allows(parent, child);
        }

        return IsPattern(parent) && child.AsSpan(0, child.Length - 1).StartsWith(parent.AsSpan(0, parent.Length - 1), StringComparison.Ordinal);
    }

    /// <summary>True when every scope of <paramref name="child"/> is covered by some scope of <paramref name="parent"/>.</summary>
    public static bool IsSubset(IReadOnlyList<string> child, IReadOnlyList<string> parent)
    {
        foreach (var c in child)
        {
            var covered = false;
            foreach (var p in parent)
            {
                if (Covers(p, c))
                {
                    covered = true;
                    break;
                }
            }

            if (!covered)
            {
                return false;
            }
        }

        return true;
    }
}
