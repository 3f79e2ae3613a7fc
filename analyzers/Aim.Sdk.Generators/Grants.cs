using System;
using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis;

namespace Aim.Sdk.Generators;

/// <summary>The agent's declared grants: <c>[assembly: AgentCapabilities(...)]</c> and <c>aim.json</c> additional files.</summary>
internal sealed class Grants
{
    private Grants(List<string> values, string source)
    {
        Values = values;
        Source = source;
    }

    public IReadOnlyList<string> Values { get; }

    /// <summary>Where the grants came from, for the message.</summary>
    public string Source { get; }

    public bool Covers(string capability)
    {
        foreach (string grant in Values)
        {
            if (CapabilityRules.GrantCovers(grant, capability))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Null when the compilation declares no grants at all (then AIM003 stays silent).</summary>
    public static Grants? Read(Compilation compilation, IEnumerable<AdditionalText> additionalFiles, System.Threading.CancellationToken cancellationToken)
    {
        var values = new List<string>();
        var sources = new List<string>();
        foreach (AttributeData attribute in compilation.Assembly.GetAttributes())
        {
            if (!IsAgentCapabilities(attribute.AttributeClass))
            {
                continue;
            }

            sources.Add("[assembly: AgentCapabilities]");
            foreach (TypedConstant argument in attribute.ConstructorArguments)
            {
                if (argument.Kind == TypedConstantKind.Array)
                {
                    foreach (TypedConstant item in argument.Values)
                    {
                        if (item.Value is string s)
                        {
                            values.Add(s);
                        }
                    }
                }
                else if (argument.Value is string s)
                {
                    values.Add(s);
                }
            }
        }

        foreach (AdditionalText file in additionalFiles)
        {
            if (!string.Equals(System.IO.Path.GetFileName(file.Path), "aim.json", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            string? text = file.GetText(cancellationToken)?.ToString();
            if (text is null)
            {
                continue;
            }

            sources.Add("aim.json");
            values.AddRange(ReadJsonGrants(text));
        }

        return sources.Count == 0 ? null : new Grants(values, string.Join(", ", sources));
    }

    public static bool IsAgentCapabilities(INamedTypeSymbol? type) =>
        type is { Name: "AgentCapabilitiesAttribute", ContainingNamespace: { Name: "Aim", ContainingNamespace.IsGlobalNamespace: true } };

    /// <summary>
    /// Every string inside an array whose key is <c>grants</c> or <c>capabilities</c>, at any depth
    /// (<c>{"grants":[...]}</c> or <c>{"agents":{"a":{"grants":[...]}}}</c>). Tolerant: malformed JSON yields what was read so far.
    /// </summary>
    public static List<string> ReadJsonGrants(string json)
    {
        var result = new List<string>();
        string? lastString = null;
        bool collecting = false;
        int collectDepth = 0;
        int depth = 0;
        for (int i = 0; i < json.Length; i++)
        {
            char c = json[i];
            if (c == '"')
            {
                string value = ReadString(json, ref i);
                if (collecting && depth == collectDepth)
                {
                    result.Add(value);
                }

                lastString = value;
                continue;
            }

            switch (c)
            {
                case '[':
                    depth++;
                    if (!collecting && (lastString == "grants" || lastString == "capabilities"))
                    {
                        collecting = true;
                        collectDepth = depth;
                    }

                    break;
                case ']':
                    if (collecting && depth == collectDepth)
                    {
                        collecting = false;
                    }

                    depth--;
                    break;
                case '{':
                    depth++;
                    break;
                case '}':
                    depth--;
                    break;
                case ',':
                    lastString = null;
                    break;
            }
        }

        return result;
    }

    private static string ReadString(string json, ref int i)
    {
        var sb = new StringBuilder();
        for (i++; i < json.Length; i++)
        {
            char c = json[i];
            if (c == '"')
            {
                break;
            }

            if (c == '\\' && i + 1 < json.Length)
            {
                i++;
                char e = json[i];
                sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b', 'f' => '\f', _ => e });
                if (e == 'u' && i + 4 < json.Length)
                {
                    sb.Length--;
                    if (int.TryParse(json.Substring(i + 1, 4), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out int code))
                    {
                        sb.Append((char)code);
                    }

                    i += 4;
                }

                continue;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
