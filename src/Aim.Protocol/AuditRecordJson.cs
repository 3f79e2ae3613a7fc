using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Audit;

namespace Aim.Protocol;

/// <summary>
/// The wire form of an <see cref="AuditRecord"/> between the remote engine and the Aim server: a JSON object with
/// snake_case members, null members omitted. The agent signs the RFC 8785 canonical bytes of this object
/// (<see cref="Json.CanonicalJson"/>), so the server stores a record it can prove the agent sent.
/// </summary>
public static class AuditRecordJson
{
    /// <summary>The record as a JSON object.</summary>
    public static JsonObject ToJson(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var o = new JsonObject
        {
            ["action_id"] = record.ActionId,
            ["kind"] = KindName(record.Kind),
            ["agent_id"] = record.AgentId,
            ["agent_name"] = record.AgentName,
            ["capability"] = record.Capability,
            ["risk"] = record.Risk.ToString().ToLowerInvariant(),
            ["decision"] = record.Decision,
        };
        Add(o, "resource", record.Resource);
        Add(o, "reason_code", record.ReasonCode);
        Add(o, "reason", record.Reason);
        Add(o, "outcome", record.Outcome);
        Add(o, "error", record.Error);
        if (record.DurationMs is { } ms)
        {
            // Whole microseconds keep the canonical number form stable across platforms.
            o["duration_ms"] = Math.Round(ms, 3);
        }

        Add(o, "arguments_digest", record.ArgumentsDigest);
        if (record.Arguments is not null)
        {
            o["arguments"] = record.Arguments.DeepClone();
        }

        if (record.Result is not null)
        {
            o["result"] = record.Result.DeepClone();
        }

        Add(o, "on_behalf_of", record.OnBehalfOf);
        Add(o, "method", record.Method);
        if (record.Details is not null)
        {
            o["details"] = record.Details.DeepClone();
        }

        return o;
    }

    /// <summary>Reads a record back.</summary>
    /// <exception cref="FormatException">A required member is missing or a member has the wrong type or value.</exception>
    public static AuditRecord FromJson(JsonObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        try
        {
            return new AuditRecord
            {
                ActionId = Required(o, "action_id"),
                Kind = ParseKind(Required(o, "kind")),
                AgentId = Required(o, "agent_id"),
                AgentName = Required(o, "agent_name"),
                Capability = Required(o, "capability"),
                Risk = ParseRisk(Required(o, "risk")),
                Decision = Required(o, "decision"),
                Resource = Optional(o, "resource"),
                ReasonCode = Optional(o, "reason_code"),
                Reason = Optional(o, "reason"),
                Outcome = Optional(o, "outcome"),
                Error = Optional(o, "error"),
                DurationMs = o["duration_ms"] is JsonValue d ? d.GetValue<double>() : null,
                ArgumentsDigest = Optional(o, "arguments_digest"),
                Arguments = o["arguments"]?.DeepClone(),
                Result = o["result"]?.DeepClone(),
                OnBehalfOf = Optional(o, "on_behalf_of"),
                Method = Optional(o, "method"),
                Details = o["details"] is JsonObject details ? (JsonObject)details.DeepClone() : null,
            };
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            throw new FormatException($"Not an audit record: {ex.Message}", ex);
        }
    }

    /// <summary>The wire name of an entry kind.</summary>
    public static string KindName(AuditEntryKind kind) => kind.ToString().ToLowerInvariant();

    private static AuditEntryKind ParseKind(string text) =>
        Enum.TryParse<AuditEntryKind>(text, ignoreCase: true, out var kind) && Enum.IsDefined(kind) && !char.IsDigit(text[0])
            ? kind
            : throw new FormatException($"Unknown audit entry kind '{text}'.");

    private static RiskLevel ParseRisk(string text) =>
        Enum.TryParse<RiskLevel>(text, ignoreCase: true, out var risk) && Enum.IsDefined(risk) && !char.IsDigit(text[0])
            ? risk
            : throw new FormatException($"Unknown risk level '{text}'.");

    private static void Add(JsonObject o, string name, string? value)
    {
        if (value is not null)
        {
            o[name] = value;
        }
    }

    private static string Required(JsonObject o, string name) =>
        Optional(o, name) is { Length: > 0 } value ? value : throw new FormatException($"'{name}' is required.");

    private static string? Optional(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new FormatException($"'{name}' must be a string."),
    };

    internal static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
