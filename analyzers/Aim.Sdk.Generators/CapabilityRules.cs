using System;
using System.Collections.Generic;

namespace Aim.Sdk.Generators;

/// <summary>Mirror of <c>Aim.RiskLevel</c> (same numeric values) for code that cannot reference Aim.Core.</summary>
internal enum Risk
{
    Auto = 0,
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}

/// <summary>
/// Compile-time copy of the runtime's capability syntax and risk rules (<c>Aim.Capabilities.Capability</c>,
/// <c>RiskClassifier</c>, <c>RiskTables</c>). The generator targets netstandard2.0 and cannot reference
/// Aim.Core, so the tables live here too; a test compares them with the runtime's entry by entry.
/// </summary>
internal static class CapabilityRules
{
    /// <summary>Namespace levels.</summary>
    public static readonly IReadOnlyDictionary<string, Risk> Namespaces = Table(
        (Risk.Critical, "payment admin system billing finance"),
        (Risk.High, "email notification sms user auth secret credential"),
        (Risk.Medium, "db database file storage cache"),
        (Risk.Low, "api weather search geocode translate time math util"));

    /// <summary>Action levels.</summary>
    public static readonly IReadOnlyDictionary<string, Risk> Actions = Table(
        (Risk.Low, "read fetch get list search query view check validate verify count exists"),
        (Risk.Medium, "write update create modify edit set save upload import"),
        (Risk.High, "delete remove send execute run invoke call export download transfer move revoke suspend disable block"),
        (Risk.Critical, "process refund charge pay approve admin impersonate escalate purge destroy drop truncate wipe terminate"));

    /// <summary>Whole-capability overrides.</summary>
    public static readonly IReadOnlyDictionary<string, Risk> Specific = Table(
        (Risk.Critical, "user:delete user:impersonate user:admin db:admin db:drop file:execute system:exec system:admin"),
        (Risk.High, "auth:reset_password auth:change_password api:external db:delete file:delete network:listen network:external"),
        (Risk.Medium, "auth:login api:webhook db:write file:write network:connect mcp:tool_use system:read"),
        (Risk.Low, "auth:logout api:call db:read db:query file:read network:read mcp:resource_read"));

    /// <summary>Longest namespace or action (as <c>Aim.Capabilities.Capability.MaxPartLength</c>).</summary>
    public const int MaxPartLength = 64;

    /// <summary>
    /// True when <paramref name="capability"/> is <c>namespace:action</c>: exactly one colon, each part
    /// non-empty and at most 64 characters, starting with a lower-case ASCII letter, then lower-case letters, digits, '_' or '-'.
    /// </summary>
    public static bool IsWellFormed(string? capability)
    {
        if (capability is null)
        {
            return false;
        }

        int colon = capability.IndexOf(':');
        if (colon < 0 || capability.IndexOf(':', colon + 1) >= 0)
        {
            return false;
        }

        return IsPart(capability, 0, colon) && IsPart(capability, colon + 1, capability.Length);
    }

    private static bool IsPart(string text, int start, int end)
    {
        if (end <= start || end - start > MaxPartLength || text[start] < 'a' || text[start] > 'z')
        {
            return false;
        }

        for (int i = start + 1; i < end; i++)
        {
            char c = text[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The level the runtime detects for a well-formed capability, ignoring any declared level:
    /// specific entry, else max(namespace, action) when both are known, else the namespace level,
    /// else the action level, else medium.
    /// </summary>
    public static Risk Detect(string capability)
    {
        if (Specific.TryGetValue(capability, out Risk specific))
        {
            return specific;
        }

        int colon = capability.IndexOf(':');
        if (colon < 0)
        {
            return Risk.Medium;
        }

        bool hasNs = Namespaces.TryGetValue(capability.Substring(0, colon), out Risk ns);
        bool hasAction = Actions.TryGetValue(capability.Substring(colon + 1), out Risk action);
        if (hasNs && hasAction)
        {
            return ns > action ? ns : action;
        }

        if (hasNs)
        {
            return ns;
        }

        return hasAction ? action : Risk.Medium;
    }

    /// <summary>
    /// True when a grant (<c>*</c>, <c>db:*</c>, <c>*:read</c>, <c>db:read</c>, optionally followed by
    /// <c>@resource-pattern</c>) covers the capability.
    /// </summary>
    public static bool GrantCovers(string grant, string capability)
    {
        string pattern = grant.Trim();
        int at = pattern.IndexOf('@');
        if (at >= 0)
        {
            pattern = pattern.Substring(0, at);
        }

        if (pattern == "*")
        {
            return true;
        }

        int pc = pattern.IndexOf(':');
        int cc = capability.IndexOf(':');
        if (pc < 0 || cc < 0)
        {
            return false;
        }

        return PartMatches(pattern.Substring(0, pc), capability.Substring(0, cc))
            && PartMatches(pattern.Substring(pc + 1), capability.Substring(cc + 1));
    }

    private static bool PartMatches(string pattern, string value) =>
        pattern == "*" || string.Equals(pattern, value, StringComparison.Ordinal);

    private static Dictionary<string, Risk> Table(params (Risk Level, string Names)[] rows)
    {
        var table = new Dictionary<string, Risk>(StringComparer.Ordinal);
        foreach (var (level, names) in rows)
        {
            foreach (string name in names.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries))
            {
                table.Add(name, level);
            }
        }

        return table;
    }
}
