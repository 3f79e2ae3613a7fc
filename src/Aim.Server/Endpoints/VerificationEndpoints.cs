using System.Collections.Concurrent;
using System.Diagnostics;
using Aim.Capabilities;
using Aim.Server.AuditLog;
using Aim.Server.Decisions;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>Wakes long polls when a verification is decided in this process (other replicas are seen by polling the database).</summary>
internal sealed class DecisionSignals
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public Task WaitAsync(string id, TimeSpan max, CancellationToken ct)
    {
        var tcs = _waiters.GetOrAdd(id, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return tcs.Task.WaitAsync(max, ct).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public void Signal(string id)
    {
        if (_waiters.TryRemove(id, out var tcs))
        {
            tcs.TrySetResult();
        }
    }
}

/// <summary>Verifications (agents ask "may I do this now"), their long-poll and SSE waits, outcomes, and human approvals.</summary>
internal static class VerificationEndpoints
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    public static void Map(RouteGroupBuilder api)
    {
        // The one pipeline decides (Decisions/ServerDecider): all five steps over the database policy, then JIT approval as a pending row.
        api.MapPost("/verifications", async (HttpContext http, RequestAuth auth, ServerDecider decider, ServerMetrics metrics) =>
        {
            var started = Stopwatch.GetTimestamp();
            var caller = await auth.CachedAgentAsync(http);
            var (request, textShared) = decider.Read(caller, RequestJson.Object(caller.Body));
            var row = await decider.DecideAsync(caller, request, textShared, c => auth.ReadmitAsync(http, c), async c => await auth.ReplayedAsync(c.Agent));
            metrics.Verifications.Add(1, new KeyValuePair<string, object?>("status", row.Status));
            metrics.VerificationDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return Results.Json(Views.Verification(row, row.Created), ViewJson.Default.VerificationView, statusCode: 201);
        });

        api.MapGet("/verifications/{id}", async (string id, HttpContext http, RequestAuth auth, ServerStore store, AimServerOptions options, DecisionSignals signals) =>
        {
            var caller = await auth.AgentAsync(http);
            var wait = TimeSpan.FromSeconds(RequestJson.QueryLong(http, "wait", 0, 0, (long)options.MaxLongPoll.TotalSeconds));
            var row = await WaitForDecisionAsync(store, options, signals, caller, id, wait, http.RequestAborted);
            return Results.Json(Views.Verification(row, options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds()), ViewJson.Default.VerificationView);
        });

        // Server-sent events: one "status" event now and one when the decision arrives (or the wait ends).
        api.MapGet("/verifications/{id}/events", async (string id, HttpContext http, RequestAuth auth, ServerStore store, AimServerOptions options, DecisionSignals signals) =>
        {
            var caller = await auth.AgentAsync(http);
            var wait = TimeSpan.FromSeconds(RequestJson.QueryLong(http, "wait", (long)options.MaxLongPoll.TotalSeconds, 0, (long)options.MaxLongPoll.TotalSeconds));
            var first = await Own(store, caller, id);
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            await WriteEventAsync(http, first, options);
            if (first.Status == DecisionStatus.Pending)
            {
                var row = await WaitForDecisionAsync(store, options, signals, caller, id, wait, http.RequestAborted);
                await WriteEventAsync(http, row, options);
            }

            return Results.Empty;
        });

        api.MapPost("/verifications/{id}/result", async (string id, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.AgentAsync(http);
            var body = RequestJson.Object(caller.Body);
            string outcome = RequestJson.String(body, "outcome", 16, required: true)!;
            if (outcome is not ("success" or "error" or "cancelled"))
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'outcome' must be success, error or cancelled.");
            }

            var row = await Own(store, caller, id);
            bool recorded = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
                await store.RecordOutcomeAsync(c, tx, caller.OrgId, caller.Agent.Id, row.Id, outcome)
                    ? (true, ServerEvents.Of("verification.result", caller.Agent.Id, caller.Agent.Name, caller.Agent.Name, $"{row.Capability} ({row.Id}): {outcome}"))
                    : (false, null));
            if (!recorded)
            {
                throw ApiException.Conflict("result_not_accepted", "Only an approved verification takes one result.");
            }

            return Results.Json(new { id = row.Id, outcome });
        });

        api.MapGet("/approvals", async (HttpContext http, RequestAuth auth, ServerStore store, AimServerOptions options) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor);
            string status = RequestJson.QueryString(http, "status", 20) ?? DecisionStatus.Pending;
            int limit = (int)RequestJson.QueryLong(http, "limit", 100, 1, 1000);
            long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var rows = await store.ListVerificationsAsync(caller.OrgId, status == "all" ? null : status, limit);
            if (status == DecisionStatus.Pending)
            {
                rows = rows.Where(r => r.Expires > now).ToList();
            }

            return Results.Json(new { items = rows.Select(r => Views.Verification(r, now)) });
        });

        api.MapGet("/approvals/{id}", async (string id, HttpContext http, RequestAuth auth, ServerStore store, AimServerOptions options) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor);
            var row = await store.FindVerificationAsync(caller.OrgId, id) ?? throw ApiException.NotFound("approval");
            return Results.Json(Views.Verification(row, options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds()), ViewJson.Default.VerificationView);
        });

        foreach (var (verb, approve) in new[] { ("approve", true), ("deny", false) })
        {
            api.MapPost($"/approvals/{{id}}/{verb}", async (string id, HttpContext http, RequestAuth auth, Dashboard.ApprovalDecisions decisions, AimServerOptions options) =>
            {
                var caller = await auth.ApiKeyAsync(http);
                caller.Require(Roles.Approver);
                var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 8192));
                string? why = RequestJson.String(body, "reason", 1000, required: !approve);
                var row = await decisions.DecideAsync(caller, id, approve, why);
                return Results.Json(Views.Verification(row, options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds()), ViewJson.Default.VerificationView);
            });
        }
    }

    private static async Task<VerificationRow> Own(ServerStore store, AgentCaller caller, string id)
    {
        var row = id.Length > 64 ? null : await store.FindVerificationAsync(caller.OrgId, id);
        return row is null || row.AgentId != caller.Agent.Id ? throw ApiException.NotFound("verification") : row;
    }

    private static async Task<VerificationRow> WaitForDecisionAsync(ServerStore store, AimServerOptions options, DecisionSignals signals, AgentCaller caller, string id, TimeSpan wait, CancellationToken ct)
    {
        var time = options.TimeProvider;
        var deadline = time.GetUtcNow() + wait;
        while (true)
        {
            var row = await Own(store, caller, id);
            var now = time.GetUtcNow();
            if (row.Status != DecisionStatus.Pending || row.Expires <= now.ToUnixTimeMilliseconds() || now >= deadline || ct.IsCancellationRequested)
            {
                return row;
            }

            var left = deadline - now;
            await signals.WaitAsync(id, left < PollInterval ? left : PollInterval, ct);
        }
    }

    private static async Task WriteEventAsync(HttpContext http, VerificationRow row, AimServerOptions options)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(Views.Verification(row, options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds()), ViewJson.Default.VerificationView);
        await http.Response.WriteAsync($"event: status\ndata: {json}\n\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
