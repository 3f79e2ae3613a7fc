using System.Text.Json.Nodes;

namespace Aim.Server.AuditLog;

/// <summary>Audit records the server itself writes (registrations, grants, approvals, status changes).</summary>
internal static class ServerEvents
{
    /// <summary>The capability namespace of server events; agents may not record in it.</summary>
    public const string Namespace = "aim:";

    /// <summary>An event about <paramref name="agentId"/> (or about the organization when null), to append with the change it records.</summary>
    public static AuditEvent Of(string what, string? agentId, string? agentName, string by, string? detail = null) => new(agentId, Event(what, agentId, agentName, by, detail));

    public static JsonObject Event(string what, string? agentId, string? agentName, string by, string? detail = null)
    {
        var record = new JsonObject
        {
            ["kind"] = "event",
            ["action_id"] = Storage.ServerStore.NewId(),
            ["capability"] = Namespace + what,
            ["decision"] = "allow",
            ["event"] = what,
            ["by"] = by,
        };
        if (agentId is not null)
        {
            record["agent_id"] = agentId;
        }

        if (agentName is not null)
        {
            record["agent_name"] = agentName;
        }

        if (detail is not null)
        {
            record["detail"] = detail;
        }

        return record;
    }
}
