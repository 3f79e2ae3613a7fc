using Aim.Server.AuditLog;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>
/// A decision on a capability request, the same from the API and the dashboard: decided once (a second decision, by
/// anyone, is 409 <c>already_decided</c> and appends nothing), and committed together with its audit entry.
/// </summary>
internal static class CapabilityRequestDecision
{
    /// <exception cref="ApiException">404 (unknown in the caller's organization), 409 <c>already_decided</c>, or 403 for a non-admin.</exception>
    public static async Task<CapabilityRequestRow> DecideAsync(ServerStore store, ServerAuditLog audit, ApiCaller caller, string id, bool approve, string? reason)
    {
        caller.Require();
        if (id.Length > 64)
        {
            throw ApiException.NotFound("capability request");
        }

        return await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
        {
            var row = await store.DecideCapabilityRequestAsync(c, tx, caller.OrgId, id, approve, caller.Name, reason) ?? throw ApiException.NotFound("capability request");
            return (row, ServerEvents.Of(approve ? "capability_request.approved" : "capability_request.rejected", row.AgentId, null, caller.Name,
                row.Capability + (reason is null ? string.Empty : ": " + reason)));
        }).ConfigureAwait(false);
    }
}
