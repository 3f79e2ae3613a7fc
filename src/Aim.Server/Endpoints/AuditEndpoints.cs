using System.Buffers.Text;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Json;
using Aim.Protocol;
using Aim.Server.AuditLog;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>The audit log: agents append signed records; auditors query, fetch tree heads and proofs.</summary>
internal static class AuditEndpoints
{
    /// <summary>The stored entry as JSON, or null when the stored bytes are not JSON (a damaged row is shown, not a 500).</summary>
    private static JsonNode? StoredEntry(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/audit/records", async (HttpContext http, RequestAuth auth, ServerAuditLog audit, ServerMetrics metrics) =>
        {
            var caller = await auth.AgentAsync(http);
            var body = RequestJson.Object(caller.Body);
            if (body["record"] is not JsonObject record)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'record' must be an object.");
            }

            string sigText = RequestJson.String(body, "record_sig", 128, required: true)!;
            if (!Base64Url.IsValid(sigText) || Base64Url.DecodeFromChars(sigText) is not { Length: Ed25519.SignatureSize } sig)
            {
                throw ApiException.BadRequest("record_signature_invalid", "'record_sig' must be a base64url Ed25519 signature.");
            }

            try
            {
                var parsed = AuditRecordJson.FromJson(record);
                // The record is forwarded to SIEMs and reports as this agent's: both names must be the signer's own.
                if (!string.Equals(parsed.AgentId, caller.Agent.Id, StringComparison.Ordinal) || !string.Equals(parsed.AgentName, caller.Agent.Name, StringComparison.Ordinal))
                {
                    throw ApiException.Forbidden("record_agent_mismatch", "The record's agent_id and agent_name must both be the signing agent's (its server id and name).");
                }

                if (parsed.Capability.StartsWith(ServerEvents.Namespace, StringComparison.OrdinalIgnoreCase))
                {
                    throw ApiException.Forbidden("reserved_capability", $"Capabilities in the '{ServerEvents.Namespace}' namespace are recorded by the server only.");
                }
            }
            catch (FormatException ex)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, ex.Message.Length > 200 ? "The record is malformed." : ex.Message);
            }

            byte[] canonical;
            try
            {
                canonical = CanonicalJson.Serialize(record);
            }
            catch (Exception ex) when (ex is CanonicalJsonException or InvalidOperationException or FormatException)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "The record cannot be canonicalized (RFC 8785).");
            }

            if (!Ed25519.Verify(caller.Key.PublicKey, canonical, sig))
            {
                throw ApiException.BadRequest("record_signature_invalid", "'record_sig' does not verify under the agent's key.");
            }

            long index = await audit.AppendAsync(caller.OrgId, caller.Agent.Id, caller.Key.KeyId, record, sig);
            metrics.AuditAppends.Add(1);
            return Results.Json(new { index }, statusCode: 201);
        });

        api.MapGet("/audit/entries", async (HttpContext http, RequestAuth auth, ServerAuditLog audit, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Auditor);
            long from = RequestJson.QueryLong(http, "from", 0, 0, long.MaxValue);
            int limit = (int)RequestJson.QueryLong(http, "limit", 100, 1, 1000);
            string? agentId = null;
            if (RequestJson.QueryString(http, "agent", 64) is { } agent)
            {
                agentId = (await store.FindAgentAsync(caller.OrgId, agent))?.Id ?? throw ApiException.NotFound("agent");
            }

            var rows = await audit.QueryAsync(caller.OrgId, from, limit, agentId, RequestJson.QueryString(http, "capability"),
                RequestJson.QueryString(http, "kind", 20), RequestJson.QueryString(http, "decision", 20));
            return Results.Json(new
            {
                items = rows.Select(r => new
                {
                    index = r.Index,
                    time = RequestJson.Time(r.Time),
                    agent_id = r.AgentId,
                    kind = r.Kind,
                    capability = r.Capability,
                    decision = r.Decision,
                    action_id = r.ActionId,
                    leaf_hash = Base64Url.EncodeToString(r.Leaf),
                    body = Base64Url.EncodeToString(r.Body),
                    entry = StoredEntry(r.Body),
                }),
                next_from = rows.Count == limit ? rows[^1].Index + 1 : (long?)null,
            });
        });

        api.MapGet("/audit/tree-head", async (HttpContext http, RequestAuth auth, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Auditor);
            var head = await audit.TreeHeadAsync(caller.OrgId);
            return Results.Text(head.ToJson(), "application/json");
        });

        api.MapGet("/audit/proofs/inclusion", async (HttpContext http, RequestAuth auth, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Auditor);
            long index = RequestJson.QueryLong(http, "index", -1, 0, long.MaxValue);
            long size = RequestJson.QueryLong(http, "tree_size", -1, 1, long.MaxValue);
            if (index < 0 || size < 0)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "Query parameters 'index' and 'tree_size' are required.");
            }

            var proof = await audit.InclusionProofAsync(caller.OrgId, index, size);
            return Results.Json(new { leaf_index = proof.LeafIndex, tree_size = proof.TreeSize, path = proof.Path.Select(p => Base64Url.EncodeToString(p)) });
        });

        api.MapGet("/audit/proofs/consistency", async (HttpContext http, RequestAuth auth, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Auditor);
            long oldSize = RequestJson.QueryLong(http, "old_size", -1, 0, long.MaxValue);
            long newSize = RequestJson.QueryLong(http, "new_size", -1, 0, long.MaxValue);
            if (oldSize < 0 || newSize < 0)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "Query parameters 'old_size' and 'new_size' are required.");
            }

            var proof = await audit.ConsistencyProofAsync(caller.OrgId, oldSize, newSize);
            return Results.Json(new { old_size = proof.OldSize, new_size = proof.NewSize, path = proof.Path.Select(p => Base64Url.EncodeToString(p)) });
        });

        api.MapGet("/audit/verify", async (HttpContext http, RequestAuth auth, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Auditor);
            var result = await audit.VerifyAsync(caller.OrgId, http.RequestAborted);
            return Results.Json(new { valid = result.IsValid, entries_checked = result.EntriesChecked, reason_code = result.ReasonCode, failed_index = result.FailedIndex, message = result.Message });
        });
    }
}
