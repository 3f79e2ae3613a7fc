using System.Buffers.Text;
using System.Text.Json.Nodes;
using Aim.Capabilities;
using Aim.Identity;
using Aim.Policy;
using Aim.Server.AuditLog;
using Aim.Server.Decisions;
using Aim.Server.Security;
using Aim.Server.Storage;
using Aim.Tokens;
using Aim.Tokens.Identity;

namespace Aim.Server.Endpoints;

/// <summary>
/// What the pipeline decides with, beyond grants: each agent's policy (a policy-file entry: attributes, time windows,
/// rate limits, budget, and optionally its grants) and the organization's trusted roots for delegation chains.
/// Administrators change them; every change is audited and takes effect with the next request on every replica.
/// </summary>
internal static class PolicyEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/agents/{agent}/policy", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, DecisionStore decisions) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor, Roles.Registrar);
            var row = await AgentEndpoints.Find(store, caller.OrgId, agent);
            var document = await decisions.PolicyDocumentAsync(caller.OrgId, row.Id);
            var grants = await store.ListGrantsAsync(caller.OrgId, row.Id);
            return Results.Json(new
            {
                agent_id = row.Id,
                grants = grants.Select(g => g.Pattern),
                policy = document is null ? null : JsonNode.Parse(document),
            });
        });

        // Body: one agent entry of a policy file ({"grants"?, "attributes"?, "timeWindows"?, "rateLimits"?, "budget"?}).
        // With "grants" the agent's grants are replaced in the same transaction; without, they are kept.
        api.MapPut("/agents/{agent}/policy", async (string agent, HttpContext http, RequestAuth auth, ServerStore store, DecisionStore decisions, ServerAuditLog audit, AimServerOptions options) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var row = await AgentEndpoints.Find(store, caller.OrgId, agent);
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, options.MaxBodyBytes));
            List<string>? grants = null;
            if (body.ContainsKey("grants"))
            {
                grants = Grants(body["grants"]);
                body.Remove("grants");
            }

            string? document = body.Count == 0 ? null : body.ToJsonString();
            if (document is not null)
            {
                try
                {
                    ServerPolicy.ParseDocument(row.Name, document);
                }
                catch (PolicyFormatException ex)
                {
                    throw ApiException.BadRequest("invalid_policy", ex.Message);
                }
            }

            long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                await DecisionStore.SetPolicyAsync(c, tx, caller.OrgId, row.Id, document, grants, caller.Name, now);
                return (true, ServerEvents.Of("agent.policy_changed", row.Id, row.Name, caller.Name,
                    (grants is null ? string.Empty : $"grants: {string.Join(", ", grants)}; ") + (document ?? "no policy")));
            });
            return Results.Json(new { agent_id = row.Id, grants = grants ?? (await store.ListGrantsAsync(caller.OrgId, row.Id)).Select(g => g.Pattern).ToList(), policy = document is null ? null : JsonNode.Parse(document) });
        });

        api.MapGet("/trusted-roots", async (HttpContext http, RequestAuth auth, DecisionStore decisions) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Approver, Roles.Auditor);
            return Results.Json(new { items = (await decisions.ListRootsAsync(caller.OrgId)).Select(View) });
        });

        // Body: {"identifier": "aip:key:ed25519:z..." | "aip:web:<domain>/<path>", "public_key"?: base64url (required for aip:web), "label"?}.
        api.MapPost("/trusted-roots", async (HttpContext http, RequestAuth auth, ServerAuditLog audit, AimServerOptions options) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 8192));
            string identifier = RequestJson.String(body, "identifier", 512, required: true)!;
            string? keyText = RequestJson.String(body, "public_key", 64);
            string? label = RequestJson.String(body, "label", 200);
            if (!AipIdentifier.TryParse(identifier, out var id))
            {
                throw ApiException.BadRequest("invalid_identifier", "'identifier' is not an aip:key or aip:web identifier.");
            }

            byte[] key;
            if (id.Kind == AipIdentifierKind.Key)
            {
                if (!AgentIdentity.TryPublicKeyFromAipId(id.Value, out var fromId) || (keyText is not null && keyText != Base64Url.EncodeToString(fromId)))
                {
                    throw ApiException.BadRequest("invalid_identifier", "An aip:key identifier carries its own key; 'public_key', when given, must be that key.");
                }

                key = fromId;
            }
            else
            {
                if (keyText is null || !Base64Url.IsValid(keyText) || Base64Url.DecodeFromChars(keyText) is not { Length: 32 } pinned)
                {
                    throw ApiException.BadRequest("invalid_public_key", "An aip:web root needs its pinned Ed25519 'public_key' (base64url, 32 bytes): the server does not fetch keys.");
                }

                key = pinned;
            }

            long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var row = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var added = await DecisionStore.AddRootAsync(c, tx, caller.OrgId, id.Value, key, label, caller.Name, now)
                    ?? throw ApiException.Conflict("root_exists", "The organization already trusts this root.");
                return (added, ServerEvents.Of("trusted_root.added", null, null, caller.Name, id.Value));
            });
            return Results.Json(View(row), statusCode: 201);
        });

        api.MapDelete("/trusted-roots/{id}", async (string id, HttpContext http, RequestAuth auth, ServerAuditLog audit) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            if (id.Length > 600)
            {
                throw ApiException.NotFound("trusted root");
            }

            var row = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var removed = await DecisionStore.RemoveRootAsync(c, tx, caller.OrgId, id) ?? throw ApiException.NotFound("trusted root");
                return (removed, ServerEvents.Of("trusted_root.removed", null, null, caller.Name, removed.Identifier));
            });
            return Results.Json(View(row));
        });
    }

    private static object View(TrustedRootRow r) => new
    {
        id = r.Id,
        identifier = r.Identifier,
        public_key = Base64Url.EncodeToString(r.PublicKey),
        label = r.Label,
        created = RequestJson.Time(r.Created),
        created_by = r.CreatedBy,
    };

    private static List<string> Grants(JsonNode? node)
    {
        if (node is not JsonArray array || array.Count > 256)
        {
            throw ApiException.BadRequest("invalid_policy", "'grants' must be an array of at most 256 grants.");
        }

        var grants = new List<string>(array.Count);
        foreach (var item in array)
        {
            if (item is not JsonValue v || !v.TryGetValue<string>(out var text) || text.Length > 512 || !CapabilityGrant.TryParse(text, out _))
            {
                throw ApiException.BadRequest("invalid_policy", "Each grant is a string such as 'db:read', 'db:*' or 'db:read@users_*'.");
            }

            grants.Add(text);
        }

        return grants;
    }
}
