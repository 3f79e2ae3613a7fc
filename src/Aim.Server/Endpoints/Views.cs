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

    public static object Verification(VerificationRow v, long now)
    {
        string status = v.Status == DecisionStatus.Pending && v.Expires <= now ? DecisionStatus.Expired : v.Status;
        return new
        {
            id = v.Id,
            agent_id = v.AgentId,
            action_id = v.ActionId,
            capability = v.Capability,
            resource = v.Resource,
            risk = v.Risk,
            method = v.Method,
            status,
            reason_code = status == DecisionStatus.Expired ? "approval_timeout" : v.ReasonCode,
            reason = status == DecisionStatus.Expired ? "No approver answered in time." : v.Reason,
            decided_by = v.DecidedBy,
            decision_reason = v.DecisionReason,
            created = RequestJson.Time(v.Created),
            expires = RequestJson.Time(v.Expires),
            decided = RequestJson.Time(v.Decided),
            outcome = v.Outcome,
        };
    }

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
