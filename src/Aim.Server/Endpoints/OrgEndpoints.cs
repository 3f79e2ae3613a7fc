using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>Organizations (bootstrap key only) and API keys (org admins).</summary>
internal static class OrgEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/orgs", async (HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            if (!caller.Key.IsSystem)
            {
                throw ApiException.Forbidden(ErrorCodes.RoleForbidden, "Only the bootstrap admin key creates organizations.");
            }

            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 4096));
            string name = RequestJson.String(body, "name", 100, required: true)!;
            var org = await store.CreateOrgAsync(name);
            string key = ApiKeys.Generate();
            var row = await store.CreateApiKeyAsync(org.Id, "admin", Roles.Admin, ApiKeys.Hash(key));
            return Results.Json(new { id = org.Id, name = org.Name, admin_key = key, admin_key_id = row.Id }, statusCode: 201);
        });

        api.MapPost("/api-keys", async (HttpContext http, RequestAuth auth, ServerStore store) =>
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
            var row = await store.CreateApiKeyAsync(caller.OrgId, name, role, ApiKeys.Hash(key));
            // The key is shown once; only its hash is stored.
            return Results.Json(new { id = row.Id, name = row.Name, role = row.Role, key }, statusCode: 201);
        });

        api.MapGet("/api-keys", async (HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            return Results.Json(new { items = (await store.ListApiKeysAsync(caller.OrgId)).Select(Views.ApiKey) });
        });

        api.MapPost("/api-keys/{id}/revoke", async (string id, HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            return await store.RevokeApiKeyAsync(caller.OrgId, id) ? Results.Json(new { id, revoked = true }) : throw ApiException.NotFound("API key");
        });
    }
}
