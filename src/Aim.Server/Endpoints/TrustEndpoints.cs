using System.Text.Json;
using Aim.Server.Security;
using Aim.Server.Storage;
using Aim.Server.Trust;

namespace Aim.Server.Endpoints;

/// <summary>Trust scores (computed on request and kept as history) and user feedback.</summary>
internal static class TrustEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/agents/{agent}/trust", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, AimServerOptions options) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor, Roles.Registrar);
            var row = await AgentEndpoints.Find(store, caller.OrgId, agent);
            var now = options.TimeProvider.GetUtcNow();
            long since = (now - TimeSpan.FromDays(30)).ToUnixTimeMilliseconds();
            var verifications = await store.ListAgentVerificationsAsync(caller.OrgId, row.Id, since);
            var inputs = new TrustInputs
            {
                Status = row.Status,
                Created = DateTimeOffset.FromUnixTimeMilliseconds(row.Created),
                LastActivity = verifications.Count == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(verifications.Max(v => v.Created)),
                Verifications = verifications.Count,
                CapabilityDenials = verifications.Count(v => v.ReasonCode is "capability_not_granted" or "resource_not_granted"),
                SuccessOutcomes = verifications.Count(v => v.Outcome == "success"),
                FailedOutcomes = verifications.Count(v => v.Outcome is "error"),
                Approved = verifications.Count(v => v.Status == DecisionStatus.Approved),
                ApprovedWithOutcome = verifications.Count(v => v.Status == DecisionStatus.Approved && v.Outcome is not null),
                SecurityEvents = await store.CountSecurityEventsAsync(caller.OrgId, row.Id, since),
                Isolation = row.Isolation,
                Ratings = await store.ListRatingsAsync(caller.OrgId, row.Id),
            };
            var (score, factors) = ServerTrustScore.Compute(inputs, now);
            var factorViews = factors.Select(f => new { name = f.Name, weight = f.Weight, value = Math.Round(f.Value, 4), explanation = f.Explanation }).ToList();
            await store.AddTrustScoreAsync(caller.OrgId, row.Id, score, JsonSerializer.Serialize(factorViews));
            return Results.Json(new { agent_id = row.Id, score, computed = RequestJson.Time(now.ToUnixTimeMilliseconds()), factors = factorViews });
        });

        api.MapGet("/agents/{agent}/trust/history", async (string agent, HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor, Roles.Registrar);
            var row = await AgentEndpoints.Find(store, caller.OrgId, agent);
            int limit = (int)RequestJson.QueryLong(http, "limit", 50, 1, 1000);
            var history = await store.ListTrustScoresAsync(caller.OrgId, row.Id, limit);
            return Results.Json(new { items = history.Select(h => new { score = h.Score, computed = RequestJson.Time(h.Computed), factors = JsonDocument.Parse(h.Factors).RootElement }) });
        });

        api.MapPost("/agents/{agent}/feedback", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, AuditLog.ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor);
            var row = await AgentEndpoints.Find(store, caller.OrgId, agent);
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 4096));
            int rating = (int)(RequestJson.Number(body, "rating", 1, 5) ?? throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'rating' (1-5) is required."));
            string? comment = RequestJson.String(body, "comment", 1000);
            await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                await store.AddFeedbackAsync(c, tx, caller.OrgId, row.Id, rating, comment);
                return (true, AuditLog.ServerEvents.Of("agent.feedback", row.Id, row.Name, caller.Name, $"rating {rating}"));
            });
            return Results.Json(new { agent_id = row.Id, rating }, statusCode: 201);
        });
    }
}
