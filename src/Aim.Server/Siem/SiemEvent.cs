using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aim.Server.Siem;

/// <summary>An audit entry as the SIEM sees it: the entry's fields flattened, its severity, and the full record.</summary>
internal static class SiemEvent
{
    public static SiemSeverity SeverityOf(string? capability, string? decision, JsonObject? record)
    {
        if (decision == "deny")
        {
            return SiemSeverity.High;
        }

        if (capability is not null && capability.StartsWith("aim:", StringComparison.Ordinal))
        {
            return capability switch
            {
                "aim:agent.revoke" => SiemSeverity.High,
                "aim:agent.suspend" or "aim:approval.denied" or "aim:api_key.created" or "aim:api_key.revoked" or "aim:capability_request.approved" => SiemSeverity.Medium,
                "aim:agent.key_rotated" or "aim:approval.approved" => SiemSeverity.Low,
                _ => SiemSeverity.Info,
            };
        }

        string? risk = record?["risk"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        return risk switch
        {
            "critical" => SiemSeverity.Critical,
            "high" => SiemSeverity.High,
            "medium" => SiemSeverity.Medium,
            "low" => SiemSeverity.Low,
            _ => SiemSeverity.Info,
        };
    }

    /// <summary>The event body for one stored entry (the entry's canonical JSON, parsed, plus severity and leaf hash).</summary>
    public static JsonObject From(string orgId, long index, long time, byte[] body, byte[] leaf, SiemSeverity severity)
    {
        JsonObject? entry;
        try
        {
            entry = JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            entry = null;
        }

        var record = entry?["record"] as JsonObject;
        return new JsonObject
        {
            ["org_id"] = orgId,
            ["index"] = index,
            ["time"] = DateTimeOffset.FromUnixTimeMilliseconds(time).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["severity"] = severity.ToString().ToLowerInvariant(),
            ["source"] = entry?["source"]?.DeepClone(),
            ["kind"] = record?["kind"]?.DeepClone(),
            ["capability"] = record?["capability"]?.DeepClone(),
            ["decision"] = record?["decision"]?.DeepClone(),
            ["agent_id"] = record?["agent_id"]?.DeepClone(),
            ["agent_name"] = record?["agent_name"]?.DeepClone(),
            ["leaf_hash"] = Base64Url.EncodeToString(leaf),
            ["record"] = record?.DeepClone(),
        };
    }
}
