using System.Text.Json.Serialization;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>The JSON shapes the API returns (snake_case, no secrets).</summary>
internal static class Views
{
    public static object Agent(AgentRow a, IEnumerable<AgentKeyRow>? keys = null, IEnumerable<GrantRow>? grants = null) => new
    {
        id = a.Id,
        name = a.Name,
        status = a.Status,
        description = a.Description,
        isolation = a.Isolation,
        created = RequestJson.Time(a.Created),
        updated = RequestJson.Time(a.Updated),
        keys = keys?.Select(k => new { key_id = k.KeyId, created = RequestJson.Time(k.Created), not_after = RequestJson.Time(k.NotAfter) }),
        grants = grants?.Select(g => g.Pattern),
    };

    public static object Grant(GrantRow g) => new { id = g.Id, capability = g.Pattern, created = RequestJson.Time(g.Created), created_by = g.CreatedBy };

    public static object ApiKey(ApiKeyRow k) => new { id = k.Id, name = k.Name, role = k.Role, created = RequestJson.Time(k.Created), revoked = RequestJson.Time(k.Revoked) };

    public static object Request(CapabilityRequestRow r) => new
    {
        id = r.Id,
        agent_id = r.AgentId,
        capability = r.Capability,
        reason = r.Reason,
        status = r.Status,
        created = RequestJson.Time(r.Created),
        decided_by = r.DecidedBy,
        decided = RequestJson.Time(r.Decided),
        decision_reason = r.DecisionReason,
    };

    /// <summary>A verification as the API shows it (typed, so the hot POST path serializes through source-generated code).</summary>
    public static VerificationView Verification(VerificationRow v, long now)
    {
        string status = v.Status == DecisionStatus.Pending && v.Expires <= now ? DecisionStatus.Expired : v.Status;
        return new VerificationView(
            v.Id, v.AgentId, v.ActionId, v.Capability, v.Resource, v.Risk, v.Method, status,
            status == DecisionStatus.Expired ? "approval_timeout" : v.ReasonCode,
            status == DecisionStatus.Expired ? "No approver answered in time." : v.Reason,
            v.DecidedBy, v.DecisionReason, RequestJson.Time(v.Created), RequestJson.Time(v.Expires), RequestJson.Time(v.Decided), v.Outcome,
            status == DecisionStatus.Expired ? "approval" : v.Step, RawJson(v.Details), RawJson(v.Evidence));
    }

    // Stored by the server itself from JsonObject.ToJsonString, so it parses; a JsonElement keeps the source-generated path.
    private static System.Text.Json.JsonElement? RawJson(string? json) =>
        json is null ? null : System.Text.Json.JsonDocument.Parse(json).RootElement.Clone();

    public static object Mcp(McpServerRow m) => new
    {
        id = m.Id,
        name = m.Name,
        url = m.Url,
        public_key = System.Buffers.Text.Base64Url.EncodeToString(m.PublicKey),
        attested = m.Attested is not null,
        attested_at = RequestJson.Time(m.Attested),
        challenge = m.Attested is null ? System.Buffers.Text.Base64Url.EncodeToString(m.Challenge) : null,
        created = RequestJson.Time(m.Created),
    };
}

/// <summary>The JSON shape of a verification (names fixed here, so reflection and source-generated serialization agree).</summary>
internal sealed record VerificationView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("agent_id")] string AgentId,
    [property: JsonPropertyName("action_id")] string ActionId,
    [property: JsonPropertyName("capability")] string Capability,
    [property: JsonPropertyName("resource")] string? Resource,
    [property: JsonPropertyName("risk")] string Risk,
    [property: JsonPropertyName("method")] string? Method,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reason_code")] string? ReasonCode,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("decided_by")] string? DecidedBy,
    [property: JsonPropertyName("decision_reason")] string? DecisionReason,
    [property: JsonPropertyName("created")] string? Created,
    [property: JsonPropertyName("expires")] string? Expires,
    [property: JsonPropertyName("decided")] string? Decided,
    [property: JsonPropertyName("outcome")] string? Outcome,
    [property: JsonPropertyName("step")] string? Step,
    [property: JsonPropertyName("details")] System.Text.Json.JsonElement? Details,
    [property: JsonPropertyName("evidence")] System.Text.Json.JsonElement? Evidence);

/// <summary>Source-generated serialization of the views on hot paths (no reflection per request).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(VerificationView))]
internal sealed partial class ViewJson : System.Text.Json.Serialization.JsonSerializerContext;
