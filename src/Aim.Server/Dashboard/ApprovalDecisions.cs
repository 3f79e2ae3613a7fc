using Aim.Server.AuditLog;
using Aim.Server.Endpoints;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>
/// A human decision on a pending verification, exactly as <c>POST /api/v1/approvals/{id}/approve|deny</c> makes it:
/// decide in the database (only while pending and unexpired), wake the waiting agent, append the audit event.
/// </summary>
internal sealed class ApprovalDecisions(ServerStore store, ServerAuditLog audit, DecisionSignals signals)
{
    /// <exception cref="ApiException">Not found (404), a deny without a reason (400), or no longer pending (409).</exception>
    public async Task<VerificationRow> DecideAsync(ApiCaller caller, string id, bool approve, string? reason)
    {
        caller.Require(Roles.Approver);
        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        if (!approve && reason is null)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "A denial needs a reason.");
        }

        if (reason is { Length: > 1000 })
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "The reason must be at most 1000 characters.");
        }

        var existing = (id.Length > 64 ? null : await store.FindVerificationAsync(caller.OrgId, id).ConfigureAwait(false)) ?? throw ApiException.NotFound("approval");
        string status = approve ? DecisionStatus.Approved : DecisionStatus.Denied;
        var row = await store.DecideVerificationAsync(caller.OrgId, existing.Id, status,
            approve ? null : "approval_denied", approve ? null : $"Denied by {caller.Name}: {reason}", caller.Name, reason).ConfigureAwait(false);
        if (row is null || row.DecidedBy != caller.Name || row.Status != status || row.Decided is null)
        {
            throw ApiException.Conflict("already_decided", "The approval is no longer pending (decided or expired).");
        }

        signals.Signal(row.Id);
        await audit.AppendAsync(caller.OrgId, row.AgentId, null, ServerEvents.Event(approve ? "approval.approved" : "approval.denied", row.AgentId, null, caller.Name,
            $"{row.Capability} ({row.Id}){(reason is null ? string.Empty : ": " + reason)}")).ConfigureAwait(false);
        return row;
    }
}
