using System.Buffers.Text;
using System.Security.Cryptography;
using Aim.Crypto;
using Aim.Server.AuditLog;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Endpoints;

/// <summary>
/// The MCP server registry: register a server with its Ed25519 key, then attest the key by signing the
/// one-time challenge the registration returned (proof of possession). Only attested servers are trusted.
/// </summary>
internal static class McpEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/mcp-servers", async (HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Registrar);
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 8192));
            string name = RequestJson.String(body, "name", 100, required: true)!;
            string url = RequestJson.String(body, "url", 2048, required: true)!;
            string key = RequestJson.String(body, "public_key", 64, required: true)!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https" or "stdio"))
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'url' must be an absolute http, https or stdio URI.");
            }

            if (!Base64Url.IsValid(key) || Base64Url.DecodeFromChars(key) is not { Length: Ed25519.PublicKeySize } publicKey)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'public_key' must be a base64url 32-byte Ed25519 key.");
            }

            var row = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var added = await store.AddMcpServerAsync(c, tx, caller.OrgId, name, url, publicKey, RandomNumberGenerator.GetBytes(32));
                return (added, ServerEvents.Of("mcp_server.registered", null, null, caller.Name, $"{added.Name} ({added.Url})"));
            });
            return Results.Json(Views.Mcp(row), statusCode: 201);
        });

        api.MapGet("/mcp-servers", async (HttpContext http, RequestAuth auth, ServerStore store) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Registrar, Roles.Auditor, Roles.Approver);
            return Results.Json(new { items = (await store.ListMcpServersAsync(caller.OrgId)).Select(Views.Mcp) });
        });

        api.MapPost("/mcp-servers/{id}/attest", async (string id, HttpContext http, RequestAuth auth, ServerStore store, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Registrar);
            var row = (id.Length > 64 ? null : await store.FindMcpServerAsync(caller.OrgId, id)) ?? throw ApiException.NotFound("MCP server");
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 4096));
            string sig = RequestJson.String(body, "signature", 128, required: true)!;
            if (!Base64Url.IsValid(sig) || !Ed25519.Verify(row.PublicKey, row.Challenge, Base64Url.DecodeFromChars(sig)))
            {
                throw ApiException.BadRequest("attestation_invalid", "The signature over the challenge does not verify under the registered key.");
            }

            bool attested = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
                await store.MarkMcpAttestedAsync(c, tx, caller.OrgId, row.Id) ? (true, ServerEvents.Of("mcp_server.attested", null, null, caller.Name, row.Name)) : (false, null));
            if (!attested)
            {
                throw ApiException.Conflict("already_attested", "The MCP server is attested already.");
            }

            return Results.Json(Views.Mcp((await store.FindMcpServerAsync(caller.OrgId, row.Id))!));
        });
    }
}
