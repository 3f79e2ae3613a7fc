using System.Collections.Frozen;
using Aim.Capabilities;

namespace Aim.Server.Compat;

/// <summary>
/// AIM's capability names are free-form (<c>read_database</c>, <c>send_email</c>, <c>execute_command</c>); the pipeline
/// decides on <c>namespace:action</c>. The rule (docs/server.md, "AIM wire compatibility"):
/// <list type="number">
/// <item>A name that already is a capability (<c>db:read</c>) is used as it is.</item>
/// <item>Otherwise it is lower-cased, <c>-</c>, <c>.</c>, <c>/</c> and spaces become <c>_</c>, and it must then be
/// <c>[a-z][a-z0-9_]*</c> (at most 128 characters).</item>
/// <item>Split at <c>_</c>: when the first word is a verb, it is the action and the rest the namespace
/// (<c>read_database</c> → <c>database:read</c>, <c>send_bulk_email</c> → <c>bulk_email:send</c>); else when the last word is a
/// verb, the same the other way round (<c>database_read</c> → <c>database:read</c>); else the whole name is the namespace and
/// the action is <c>use</c> (<c>web_scraping</c> → <c>web_scraping:use</c>). Verbs are the actions of the risk tables
/// (<see cref="RiskTables.Actions"/>) plus <see cref="ExtraVerbs"/>.</item>
/// </list>
/// The server's <c>aim:</c> namespace is never a result (those capabilities are the server's own events).
/// </summary>
internal static class AimCapabilityNames
{
    /// <summary>The longest AIM name accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>Verbs AIM's SDKs and server use that the risk tables do not list.</summary>
    public static IReadOnlyList<string> ExtraVerbs { get; } =
    [
        "access", "add", "alter", "browse", "change", "generate", "grant", "insert", "log", "make", "manage", "patch", "post", "put", "retrieve", "scrape",
        "show", "use",
    ];

    private static readonly FrozenSet<string> Verbs = RiskTables.Actions.Keys.Concat(ExtraVerbs).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Maps an AIM capability name onto a capability.</summary>
    /// <exception cref="ApiException">400 <c>invalid_capability</c> (the name cannot be mapped) or 403 <c>reserved_capability</c> (the <c>aim:</c> namespace).</exception>
    public static Capability Map(string name)
    {
        var capability = TryMap(name, out var error) ?? throw ApiException.BadRequest("invalid_capability", error!);
        if (capability.Namespace == "aim")
        {
            throw ApiException.Forbidden("reserved_capability", "Capabilities in the 'aim:' namespace are recorded by the server only.");
        }

        return capability;
    }

    /// <summary>The capability for an AIM name, or null with the reason.</summary>
    public static Capability? TryMap(string? name, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxLength)
        {
            error = $"An AIM capability name must be 1 to {MaxLength} characters.";
            return null;
        }

        if (Capability.TryParse(name, out var direct))
        {
            return direct;
        }

        var normalized = new System.Text.StringBuilder(name.Length);
        foreach (char ch in name.Trim())
        {
            char c = ch is '-' or '.' or '/' or ' ' ? '_' : char.ToLowerInvariant(ch);
            if (c == '_' && (normalized.Length == 0 || normalized[^1] == '_'))
            {
                continue;
            }

            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                error = $"The AIM capability name '{Shorten(name)}' has a character other than letters, digits, '_', '-', '.', '/' or spaces.";
                return null;
            }

            normalized.Append(c);
        }

        string text = normalized.ToString().TrimEnd('_');
        if (text.Length == 0 || text[0] is < 'a' or > 'z')
        {
            error = $"The AIM capability name '{Shorten(name)}' must start with a letter.";
            return null;
        }

        var words = text.Split('_');
        string ns, action;
        if (words.Length > 1 && Verbs.Contains(words[0]))
        {
            (ns, action) = (string.Join('_', words[1..]), words[0]);
        }
        else if (words.Length > 1 && Verbs.Contains(words[^1]))
        {
            (ns, action) = (string.Join('_', words[..^1]), words[^1]);
        }
        else
        {
            (ns, action) = (text, "use");
        }

        if (!Capability.TryParse($"{ns}:{action}", out var mapped))
        {
            error = $"The AIM capability name '{Shorten(name)}' maps to '{Shorten(ns)}:{action}', which is not a valid capability ({Capability.Explain($"{ns}:{action}")}).";
            return null;
        }

        return mapped;
    }

    private static string Shorten(string s) => s.Length > 64 ? s[..64] + "…" : s;
}

/// <summary>
/// AIM's own risk table for its action names (the AIM server's verification handler: low for reads, medium for writes and
/// e-mail, high for deletions, commands and admin actions, medium for anything it does not list). The pipeline's risk is
/// the higher of this level, a <c>risk_level</c> the request declares, and Aim's own classification of the mapped
/// capability: a table never lowers a risk.
/// </summary>
internal static class AimRiskTable
{
    /// <summary>The names AIM's table lists, with their level.</summary>
    public static FrozenDictionary<string, RiskLevel> Levels { get; } = new Dictionary<string, RiskLevel>(StringComparer.Ordinal)
    {
        ["read_database"] = RiskLevel.Low,
        ["read_file"] = RiskLevel.Low,
        ["query_api"] = RiskLevel.Low,
        ["write_database"] = RiskLevel.Medium,
        ["write_file"] = RiskLevel.Medium,
        ["send_email"] = RiskLevel.Medium,
        ["modify_config"] = RiskLevel.Medium,
        ["delete_data"] = RiskLevel.High,
        ["delete_file"] = RiskLevel.High,
        ["execute_command"] = RiskLevel.High,
        ["admin_action"] = RiskLevel.High,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>AIM's level for an action name (medium when AIM's table does not list it, as AIM does).</summary>
    public static RiskLevel Of(string actionType) => Levels.TryGetValue(actionType, out var level) ? level : RiskLevel.Medium;
}

/// <summary>Which AIM SDK an agent uses, from what its requests say about themselves.</summary>
internal static partial class AimSdkKinds
{
    /// <summary>The kind of an agent registered through the AIM routes before any request named its language.</summary>
    public const string Unknown = "aim";

    /// <summary>The SDK named by a User-Agent such as <c>AIM-Python-SDK/1.0.0</c>, or null.</summary>
    public static (string Sdk, string Version)? FromUserAgent(string? userAgent) =>
        userAgent is { Length: <= 200 } && UserAgentPattern().Match(userAgent) is { Success: true } m ? ("aim-" + m.Groups[1].Value.ToLowerInvariant(), m.Groups[2].Value) : null;

    /// <summary>The SDK named by a detection report's <c>sdkVersion</c> such as <c>aim-sdk-python@1.0.0</c>, or null.</summary>
    public static (string Sdk, string Version)? FromSdkVersion(string? sdkVersion) =>
        sdkVersion is { Length: <= 100 } && SdkVersionPattern().Match(sdkVersion) is { Success: true } m ? ("aim-" + m.Groups[1].Value.ToLowerInvariant(), m.Groups[2].Value) : null;

    /// <summary>"AIM Python SDK 1.0.0", "AIM SDK", ...</summary>
    public static string Describe(string sdk, string? version)
    {
        string language = sdk switch
        {
            "aim-python" => "Python ",
            "aim-typescript" => "TypeScript ",
            "aim-javascript" => "JavaScript ",
            "aim-java" => "Java ",
            "aim-go" => "Go ",
            _ => string.Empty,
        };
        return $"AIM {language}SDK" + (version is null ? string.Empty : " " + version);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^AIM-(Python|TypeScript|JavaScript|Java|Go)-SDK/([0-9A-Za-z.+\-]{1,32})(\s|$)", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex UserAgentPattern();

    [System.Text.RegularExpressions.GeneratedRegex(@"^aim-sdk-(python|typescript|javascript|java|go)@([0-9A-Za-z.+\-]{1,32})$", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex SdkVersionPattern();
}
