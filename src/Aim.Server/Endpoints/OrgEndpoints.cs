using Aim.Server.AuditLog;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>Organizations (bootstrap key only) and API keys (org admins).</summary>
internal static class OrgEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/orgs", async (HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            if (!caller.Key.IsSystem)
            {
                throw ApiException.Forbidden(ErrorCodes.RoleForbidden, "Only the bootstrap admin key creates organizations.");
            }

            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 4096));
            string name = RequestJson.String(body, "name", 100, required: true)!;
            string key = ApiKeys.Generate();
            // Recorded in the log of the organization that created it (the bootstrap key's).
            var (org, row) = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var org = await store.CreateOrgAsync(c, tx, name);
                var admin = await store.CreateApiKeyAsync(c, tx, org.Id, "admin", Roles.Admin, ApiKeys.Hash(key));
                return ((org, admin), ServerEvents.Of("org.created", null, null, caller.Name, $"{org.Name} ({org.Id}), admin key {admin.Id}"));
            });
            return Results.Json(new { id = org.Id, name = org.Name, admin_key = key, admin_key_id = row.Id }, statusCode: 201);
        });

        api.MapPost("/api-keys", async (HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 4096));
            string name = RequestJson.String(body, "name", 100, required: true)!;
            string role = RequestJson.String(body, "role", 20, required: true)!;
            if (!Roles.IsValid(role))
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'role' must be admin, approver, auditor or registrar.");
            }

            string key = ApiKeys.Generate();
            var row = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var created = await store.CreateApiKeyAsync(c, tx, caller.OrgId, name, role, ApiKeys.Hash(key));
                return (created, ServerEvents.Of("api_key.created", null, null, caller.Name, $"{created.Name} ({created.Role}, key {created.Id})"));
            });
            // The key is shown once; only its hash is stored.
            return Results.Json(new { id = row.Id, name = row.Name, role = row.Role, key }, statusCode: 201);
        });

        api.MapGet("/api-keys", async (HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            return Results.Json(new { items = (await store.ListApiKeysAsync(caller.OrgId)).Select(Views.ApiKey) });
        });

        api.MapPost("/api-keys/{id}/revoke", async (string id, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            bool revoked = id.Length <= 64 && await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
                await store.RevokeApiKeyAsync(c, tx, caller.OrgId, id) ? (true, ServerEvents.Of("api_key.revoked", null, null, caller.Name, $"key {id}")) : (false, null));
            return revoked ? Results.Json(new { id, revoked = true }) : throw ApiException.NotFound("API key");
        });
    }
}
