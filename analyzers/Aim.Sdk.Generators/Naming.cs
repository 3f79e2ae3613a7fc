using System.Text;

namespace Aim.Sdk.Generators;

/// <summary>Stable identifiers for generated members.</summary>
internal static class Naming
{
    /// <summary>The method name inside an identity like <c>Ns.Type.Method(int, string)</c>.</summary>
    public static string ShortName(string method)
    {
        int paren = method.IndexOf('(');
        string head = paren >= 0 ? method.Substring(0, paren) : method;
        int dot = head.LastIndexOf('.');
        return dot >= 0 ? head.Substring(dot + 1) : head;
    }

    /// <summary>Keeps letters, digits and '_'; everything else becomes '_'.</summary>
    public static string Sanitize(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            sb.Append(char.IsLetterOrDigit(c) && c < 128 ? c : '_');
        }

        return sb.Length == 0 ? "_" : sb.ToString();
    }

    /// <summary>FNV-1a 32-bit of the text, as 8 hex digits: a short, deterministic disambiguator.</summary>
    public static string Hash(string text)
    {
        unchecked
        {
            uint hash = 2166136261;
            foreach (char c in text)
            {
                hash ^= c;
                hash *= 16777619;
            }

            return hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
