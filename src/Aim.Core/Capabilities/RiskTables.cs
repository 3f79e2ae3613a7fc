using System.Collections.Frozen;

namespace Aim.Capabilities;

/// <summary>
/// The risk classifier's tables, read-only: risk by namespace, by action, and for specific
/// capabilities. The source generator mirrors them and <c>aim risk</c> prints them; change them here only.
/// </summary>
public static class RiskTables
{
    /// <summary>Risk of a capability namespace (<c>payment</c>, <c>db</c>, ...).</summary>
    public static FrozenDictionary<string, RiskLevel> Namespaces { get; } = Build(
        (RiskLevel.Critical, ["payment", "admin", "system", "billing", "finance"]),
        (RiskLevel.High, ["email", "notification", "sms", "user", "auth", "secret", "credential"]),
        (RiskLevel.Medium, ["db", "database", "file", "storage", "cache"]),
        (RiskLevel.Low, ["api", "weather", "search", "geocode", "translate", "time", "math", "util"]));

    /// <summary>Risk of a capability action (<c>read</c>, <c>delete</c>, ...).</summary>
    public static FrozenDictionary<string, RiskLevel> Actions { get; } = Build(
        (RiskLevel.Low, ["read", "fetch", "get", "list", "search", "query", "view", "check", "validate", "verify", "count", "exists"]),
        (RiskLevel.Medium, ["write", "update", "create", "modify", "edit", "set", "save", "upload", "import"]),
        (RiskLevel.High, ["delete", "remove", "send", "execute", "run", "invoke", "call", "export", "download", "transfer", "move", "revoke", "suspend", "disable", "block"]),
        (RiskLevel.Critical, ["process", "refund", "charge", "pay", "approve", "admin", "impersonate", "escalate", "purge", "destroy", "drop", "truncate", "wipe", "terminate"]));

    /// <summary>Risk of specific capabilities, which overrides the namespace and action tables.</summary>
    public static FrozenDictionary<string, RiskLevel> Specific { get; } = Build(
        (RiskLevel.Critical, ["user:delete", "user:impersonate", "user:admin", "db:admin", "db:drop", "file:execute", "system:exec", "system:admin"]),
        (RiskLevel.High, ["auth:reset_password", "auth:change_password", "api:external", "db:delete", "file:delete", "network:listen", "network:external"]),
        (RiskLevel.Medium, ["auth:login", "api:webhook", "db:write", "file:write", "network:connect", "mcp:tool_use", "system:read"]),
        (RiskLevel.Low, ["auth:logout", "api:call", "db:read", "db:query", "file:read", "network:read", "mcp:resource_read"]));

    internal static readonly FrozenDictionary<string, RiskLevel>.AlternateLookup<ReadOnlySpan<char>> NamespacesBySpan =
        Namespaces.GetAlternateLookup<ReadOnlySpan<char>>();

    internal static readonly FrozenDictionary<string, RiskLevel>.AlternateLookup<ReadOnlySpan<char>> ActionsBySpan =
        Actions.GetAlternateLookup<ReadOnlySpan<char>>();

    private static FrozenDictionary<string, RiskLevel> Build(params (RiskLevel Level, string[] Names)[] groups)
    {
        var entries = new Dictionary<string, RiskLevel>(StringComparer.Ordinal);
        foreach (var (level, names) in groups)
        {
            foreach (var name in names)
            {
                entries.Add(name, level); // Add: a duplicate entry is a bug in the table
            }
        }

        return entries.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
