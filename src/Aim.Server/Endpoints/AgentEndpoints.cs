using System.Buffers.Text;
using System.Text;
using Aim.Capabilities;
using Aim.Crypto;
using Aim.Identity;
using Aim.Server.AuditLog;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>Agents, their keys and grants, and capability requests.</summary>
internal static class AgentEndpoints
{
    /// <summary>What the new key signs to prove possession when an agent rotates its key.</summary>
    public static byte[] RotationProofMessage(string agentId, string newKeyId) => Encoding.UTF8.GetBytes($"aim-key-rotation/1:{agentId}:{newKeyId}");

    public static void Map(RouteGroupBuilder api)
    {
        // Registration: an API key allowed to register, plus the new agent key's own signature (proof of possession).
        api.MapPost("/agents", async (HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Registrar);
            string keyId = SignatureKeyId(http);
            if (!AgentIdentity.TryPublicKeyFromAipId(keyId, out var publicKey))
            {
                throw ApiException.Unauthorized(ErrorCodes.SignatureInvalid, "keyid must be the agent's aip:key:ed25519 identifier.");
            }

            var (_, bytes) = await auth.SelfSignedAsync(http, publicKey);
            var body = RequestJson.Object(bytes);
            string name = RequestJson.String(body, "name", 64, required: true)!;
            if (!AgentName.IsValid(name))
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'name' is not a valid agent name.");
            }

            if (RequestJson.String(body, "aip_id", 200, required: true) != keyId)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'aip_id' must be the key that signed the request.");
            }

            string? description = RequestJson.String(body, "description", 500), isolation = RequestJson.String(body, "isolation", 32);
            var (agent, created) = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var registered = await store.RegisterAgentAsync(c, tx, caller.OrgId, name, keyId, publicKey, description, isolation);
                return (registered, registered.Created ? ServerEvents.Of("agent.registered", registered.Agent.Id, registered.Agent.Name, caller.Name) : null);
            });

            return Results.Json(Views.Agent(agent, await store.ListKeysAsync(caller.OrgId, agent.Id), await store.ListGrantsAsync(caller.OrgId, agent.Id)), statusCode: created ? 201 : 200);
        });

        api.MapGet("/agents", async (HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor, Roles.Registrar);
            var agents = await store.ListAgentsAsync(caller.OrgId, RequestJson.QueryString(http, "status", 20));
            return Results.Json(new { items = agents.Select(a => Views.Agent(a)) });
        });

        api.MapGet("/agents/{agent}", async (string agent, HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor, Roles.Registrar);
            var row = await Find(store, caller.OrgId, agent);
            return Results.Json(Views.Agent(row, await store.ListKeysAsync(caller.OrgId, row.Id), await store.ListGrantsAsync(caller.OrgId, row.Id)));
        });

        api.MapPatch("/agents/{agent}", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var row = await Find(store, caller.OrgId, agent);
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 8192));
            string? description = RequestJson.String(body, "description", 500), isolation = RequestJson.String(body, "isolation", 32);
            string detail = string.Join(", ", new[] { description is null ? null : "description", isolation is null ? null : "isolation: " + isolation }.Where(d => d is not null));
            var updated = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var changed = await store.UpdateAgentAsync(c, tx, caller.OrgId, row.Id, description, isolation);
                return (changed, ServerEvents.Of("agent.updated", row.Id, row.Name, caller.Name, detail.Length == 0 ? "nothing" : detail));
            });
            return Results.Json(Views.Agent(updated!));
        });

        MapStatus(api, "suspend", AgentStatus.Suspended);
        MapStatus(api, "reactivate", AgentStatus.Active);
        MapStatus(api, "revoke", AgentStatus.Revoked);

        // Key rotation: signed by a current key of the agent; the new key proves possession; old keys stay valid for the overlap.
        api.MapPost("/agents/{agent}/keys/rotate", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit, AimServerOptions options) =>
        {
            var caller = await auth.AgentAsync(http);
            if (caller.Agent.Id != agent)
            {
                throw ApiException.NotFound("agent");
            }

            var body = RequestJson.Object(caller.Body);
            string newKeyId = RequestJson.String(body, "new_aip_id", 200, required: true)!;
            string proof = RequestJson.String(body, "proof", 200, required: true)!;
            double overlap = RequestJson.Number(body, "overlap_seconds", 0, 7 * 24 * 3600) ?? 3600;
            if (!AgentIdentity.TryPublicKeyFromAipId(newKeyId, out var newKey) || !Base64Url.IsValid(proof)
                || !Ed25519.Verify(newKey, RotationProofMessage(agent, newKeyId), Base64Url.DecodeFromChars(proof)))
            {
                throw ApiException.BadRequest("rotation_proof_invalid", "The new key's proof of possession does not verify.");
            }

            long until = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds() + (long)(overlap * 1000);
            await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                await store.RotateKeyAsync(c, tx, caller.OrgId, caller.Agent.Id, newKeyId, newKey, until);
                return (true, ServerEvents.Of("agent.key_rotated", caller.Agent.Id, caller.Agent.Name, caller.Agent.Name, $"{caller.Key.KeyId} -> {newKeyId}"));
            });
            return Results.Json(Views.Agent(caller.Agent, await store.ListKeysAsync(caller.OrgId, caller.Agent.Id)));
        });

        api.MapGet("/agents/{agent}/grants", async (string agent, HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor, Roles.Registrar);
            var row = await Find(store, caller.OrgId, agent);
            return Results.Json(new { items = (await store.ListGrantsAsync(caller.OrgId, row.Id)).Select(Views.Grant) });
        });

        api.MapPost("/agents/{agent}/grants", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var row = await Find(store, caller.OrgId, agent);
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 16384));
            var patterns = RequestJson.Strings(body, "capabilities");
            foreach (var p in patterns)
            {
                if (!CapabilityGrant.TryParse(p, out _))
                {
                    throw ApiException.BadRequest("invalid_capability", $"'{Truncate(p)}' is not a valid capability grant.");
                }
            }

            await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                await store.AddGrantsAsync(c, tx, caller.OrgId, row.Id, patterns, caller.Name);
                return (true, ServerEvents.Of("agent.granted", row.Id, row.Name, caller.Name, string.Join(' ', patterns)));
            });
            return Results.Json(new { items = (await store.ListGrantsAsync(caller.OrgId, row.Id)).Select(Views.Grant) });
        });

        api.MapDelete("/agents/{agent}/grants", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var row = await Find(store, caller.OrgId, agent);
            string capability = RequestJson.QueryString(http, "capability") ?? throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "Query parameter 'capability' is required.");
            bool removed = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
                await store.RemoveGrantAsync(c, tx, caller.OrgId, row.Id, capability) == 0 ? (false, null) : (true, ServerEvents.Of("agent.grant_revoked", row.Id, row.Name, caller.Name, capability)));
            if (!removed)
            {
                throw ApiException.NotFound("grant");
            }

            return Results.Json(new { items = (await store.ListGrantsAsync(caller.OrgId, row.Id)).Select(Views.Grant) });
        });

        api.MapPost("/capability-requests", async (HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.AgentAsync(http);
            var body = RequestJson.Object(caller.Body);
            string capability = RequestJson.String(body, "capability", 200, required: true)!;
            if (!CapabilityGrant.TryParse(capability, out _))
            {
                throw ApiException.BadRequest("invalid_capability", "'capability' is not a valid capability grant.");
            }

            string? reason = RequestJson.String(body, "reason", 1000);
            var row = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var created = await store.CreateCapabilityRequestAsync(c, tx, caller.OrgId, caller.Agent.Id, capability, reason);
                return (created, ServerEvents.Of("capability_request.created", caller.Agent.Id, caller.Agent.Name, caller.Agent.Name, capability));
            });
            return Results.Json(Views.Request(row), statusCode: 201);
        });

        api.MapGet("/capability-requests", async (HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor);
            var rows = await store.ListCapabilityRequestsAsync(caller.OrgId, RequestJson.QueryString(http, "status", 20));
            return Results.Json(new { items = rows.Select(Views.Request) });
        });

        foreach (var (verb, approve) in new[] { ("approve", true), ("reject", false) })
        {
            api.MapPost($"/capability-requests/{{id}}/{verb}", async (string id, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
            {
                var caller = await auth.ApiKeyAsync(http);
                caller.Require();
                var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 4096));
                var row = await CapabilityRequestDecision.DecideAsync(store, audit, caller, id, approve, RequestJson.String(body, "reason", 1000));
                return Results.Json(Views.Request(row));
            });
        }
    }

    private static void MapStatus(RouteGroupBuilder api, string verb, string status) =>
        api.MapPost($"/agents/{{agent}}/{verb}", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var row = await Find(store, caller.OrgId, agent);
            bool changed = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
                await store.SetAgentStatusAsync(c, tx, caller.OrgId, row.Id, status) ? (true, ServerEvents.Of("agent." + verb, row.Id, row.Name, caller.Name)) : (false, null));
            if (!changed)
            {
                throw ApiException.Conflict("agent_revoked", "A revoked agent cannot change status.");
            }

            return Results.Json(Views.Agent((await store.FindAgentAsync(caller.OrgId, row.Id))!));
        });

    public static async Task<AgentRow> Find(ServerStore store, string orgId, string idOrName) =>
        idOrName.Length > 64 ? throw ApiException.NotFound("agent") : await store.FindAgentAsync(orgId, idOrName) ?? throw ApiException.NotFound("agent");

    private static string SignatureKeyId(HttpContext http)
    {
        var input = http.Request.Headers["Signature-Input"].ToString();
        var signature = http.Request.Headers["Signature"].ToString();
        if (input.Length == 0 || signature.Length == 0)
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureMissing, "Registration must be signed by the agent's key.");
        }

        return Protocol.HttpMessageSignature.TryParse(input, signature, out var parsed)
            ? parsed.KeyId
            : throw ApiException.Unauthorized(ErrorCodes.SignatureInvalid, "The signature headers are malformed or use another profile.");
    }

    private static string Truncate(string s) => s.Length > 64 ? s[..64] + "…" : s;
}
