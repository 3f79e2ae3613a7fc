using Aim.Server.AuditLog;
using Aim.Server.Endpoints;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Dashboard;

/// <summary>
/// A human decision on a pending verification, the one code path of <c>POST /api/v1/approvals/{id}/approve|deny</c>
/// and the dashboard: decided in the database only while pending and unexpired, together with its audit entry in the
/// same transaction, then the waiting agent is woken. Decisions are append-only: deciding again (the same approver or
/// another, with any reason) is 409 <c>already_decided</c> and appends nothing; the database refuses to change a decided row.
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
        var row = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
        {
            var decided = await store.DecideVerificationAsync(c, tx, caller.OrgId, existing.Id, status,
                approve ? null : "approval_denied", approve ? null : $"Denied by {caller.Name}: {reason}", caller.Name, reason).ConfigureAwait(false)
                ?? throw ApiException.Conflict("already_decided", "The approval is no longer pending (decided or expired).");
            if (!approve)
            {
                // The action will not run: what it reserved against the budget goes back, with the decision.
                await Decisions.DatabaseLimits.ReleaseAsync(c, tx, store.Db.Dialect, decided).ConfigureAwait(false);
            }

            return (decided, ServerEvents.Of(approve ? "approval.approved" : "approval.denied", decided.AgentId, null, caller.Name,
                $"{decided.Capability} ({decided.Id}){(reason is null ? string.Empty : ": " + reason)}"));
        }).ConfigureAwait(false);
        signals.Signal(row.Id);
        return row;
    }
}
