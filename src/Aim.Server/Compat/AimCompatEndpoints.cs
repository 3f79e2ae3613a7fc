using System.Diagnostics;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Identity;
using Aim.Server.AuditLog;
using Aim.Server.Decisions;
using Aim.Server.Endpoints;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Compat;

/// <summary>
/// The routes AIM's own SDKs call (opena2a-org/agent-identity-management, <c>sdks/</c>), so agents written with them work
/// unchanged against this server: registration, verifications (decided by the one pipeline through
/// <see cref="ServerDecider"/>), polling, results, capability reports and requests, and MCP reports. Security stays the
/// server's: AIM signatures are checked and never accepted twice (<see cref="AimRequestAuth"/>), capability reports become
/// requests an admin decides (never grants), and every change commits with its audit entry. Each organization turns the
/// surface on with <c>aim orgs compat ORG on</c>; until then its routes answer 404 <c>compat_disabled</c>.
/// </summary>
internal static class AimCompatEndpoints
{
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<CompatStore>();
        services.AddSingleton<AimRequestAuth>();
    }

    public static void Map(RouteGroupBuilder api)
    {
        MapSwitch(api);
        MapRegistration(api);
        MapVerifications(api);
        MapCapabilities(api);
        MapMcp(api);
    }

    // ---- the organization switch ----

    private static void MapSwitch(RouteGroupBuilder api)
    {
        api.MapGet("/orgs/{org}/compat", async (string org, HttpContext http, RequestAuth auth, CompatStore compat) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require(Roles.Auditor);
            var row = await OwnOrgAsync(compat, caller, org);
            return Results.Json(SwitchView(row, await compat.SettingsAsync(row.Id)));
        });

        // Body: {"enabled": true|false, "server_keys": true|false}; admins of the organization only; audited.
        api.MapPut("/orgs/{org}/compat", async (string org, HttpContext http, RequestAuth auth, CompatStore compat, ServerAuditLog audit, AimServerOptions options) =>
        {
            var caller = await auth.ApiKeyAsync(http);
            caller.Require();
            var row = await OwnOrgAsync(compat, caller, org);
            var body = RequestJson.Object(await RequestAuth.ReadBodyAsync(http, 4096));
            if (body["enabled"] is null)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'enabled' (true or false) is required.");
            }

            bool enabled = RequestJson.Bool(body, "enabled"), serverKeys = RequestJson.Bool(body, "server_keys");
            if (serverKeys && !enabled)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'server_keys' needs 'enabled'.");
            }

            long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            string state = !enabled ? "off" : serverKeys ? "on, server-generated agent keys allowed" : "on, agents bring their own keys";
            await audit.ChangeAsync(row.Id, async (c, tx) =>
            {
                await CompatStore.SetSettingsAsync(c, tx, row.Id, enabled, serverKeys, caller.Name, now);
                return (true, ServerEvents.Of("org.compat_changed", null, null, caller.Name, $"AIM wire compatibility {state}"));
            });
            return Results.Json(SwitchView(row, await compat.SettingsAsync(row.Id)));
        });
    }

    private static async Task<OrgRow> OwnOrgAsync(CompatStore compat, ApiCaller caller, string org)
    {
        var row = org.Length > 100 ? null : await compat.FindOrgAsync(org);
        // An admin manages its own organization only; another organization does not exist for it.
        return row is not null && row.Id == caller.OrgId ? row : throw ApiException.NotFound("organization");
    }

    private static object SwitchView(OrgRow org, CompatSettings s) => new
    {
        org_id = org.Id,
        org = org.Name,
        enabled = s.Enabled,
        server_keys = s.ServerKeys,
        updated = RequestJson.Time(s.Updated),
        updated_by = s.UpdatedBy,
    };

    // ---- registration ----

    private static void MapRegistration(RouteGroupBuilder api)
    {
        // AIM's API-key registration: X-AIM-API-Key (a registrar or admin key of this server). Without 'public_key' the server
        // generates the key pair and returns its private key once (only where the organization allows it); with 'public_key' the
        // agent keeps its key and proves it holds it by signing the request with it (AIM's signature headers, no X-Agent-ID).
        api.MapPost("/public/agents/register", async (HttpContext http, AimRequestAuth aim, RequestAuth auth, CompatStore compat, ServerStore store,
            ServerAuditLog audit, AimServerOptions options) =>
        {
            await aim.RequireAnyEnabledAsync();
            var caller = await AimApiKeyAsync(http, auth, store);
            caller.Require(Roles.Registrar);
            var settings = await compat.SettingsAsync(caller.OrgId);
            if (!settings.Enabled)
            {
                throw CompatErrors.Disabled();
            }

            var bytes = await RequestAuth.ReadBodyAsync(http, options.MaxBodyBytes);
            var body = RequestJson.Object(bytes);
            string name = RequestJson.String(body, "name", 64, required: true)!;
            if (!AgentName.IsValid(name))
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'name' is not a valid agent name (lower-case letters, digits, '-', '_' and '.', starting with a letter or digit).");
            }

            string? agentType = RequestJson.String(body, "agent_type", 32);
            if (agentType is not (null or "ai_agent" or "mcp_server"))
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'agent_type' must be ai_agent or mcp_server.");
            }

            var details = new CompatAgentRow(string.Empty, caller.OrgId, AimSdkKinds.Unknown, null, string.Empty,
                RequestJson.String(body, "display_name", 200), agentType ?? "ai_agent", RequestJson.String(body, "version", 64),
                RequestJson.String(body, "repository_url", 2048), RequestJson.String(body, "documentation_url", 2048), 0, 0);
            string? description = RequestJson.String(body, "description", 500);
            RequestJson.String(body, "organization_domain", 253);
            var requested = OptionalStrings(body, "capabilities", AimCapabilityNames.MaxLength).Select(n => (Name: n, Capability: AimCapabilityNames.Map(n).Value))
                .DistinctBy(c => c.Capability).ToList();
            var talksTo = OptionalStrings(body, "talks_to", 200).Distinct(StringComparer.Ordinal).ToList();

            byte[] publicKey;
            byte[]? secretKey = null;
            string custody;
            if (RequestJson.String(body, "public_key", 128) is { } keyText)
            {
                publicKey = await ProveClientKeyAsync(http, store, options, keyText, bytes);
                custody = "client";
            }
            else if (settings.ServerKeys)
            {
                using var pair = Ed25519KeyPair.Generate();
                publicKey = pair.PublicKey.ToArray();
                secretKey = pair.ExportSecretKey();
                custody = "server";
            }
            else
            {
                throw ApiException.Forbidden(CompatErrors.ServerKeysDisabled,
                    "This organization does not let the server generate agent keys: send 'public_key' and sign the request with that key, or an admin runs 'aim orgs compat <org> on --server-keys'.");
            }

            try
            {
                string keyId = AgentIdentity.AipIdOf(publicKey);
                long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                var (agent, created) = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
                {
                    var registered = await store.RegisterAgentAsync(c, tx, caller.OrgId, name, keyId, publicKey, description, null);
                    if (!registered.Created)
                    {
                        return (registered, (AuditEvent?)null);
                    }

                    await CompatStore.AddAgentAsync(c, tx, details with { AgentId = registered.Agent.Id, KeyCustody = custody, Created = now, Updated = now });
                    foreach (var (aimName, capability) in requested)
                    {
                        await store.CreateCapabilityRequestAsync(c, tx, caller.OrgId, registered.Agent.Id, capability, $"[AIM '{aimName}'] declared at registration");
                    }

                    await CompatStore.ReportMcpAsync(c, tx, caller.OrgId, registered.Agent.Id, talksTo.Select(t => (t, "registration", (double?)null, (string?)null)).ToList(), now);
                    string detail = $"via AIM wire compatibility, {custody}-held key"
                        + (requested.Count == 0 ? string.Empty : "; capability requests: " + string.Join(", ", requested.Select(r => r.Capability)))
                        + (talksTo.Count == 0 ? string.Empty : "; talks to: " + AimVerifications.Clip(string.Join(", ", talksTo)));
                    return (registered, ServerEvents.Of("agent.registered", registered.Agent.Id, registered.Agent.Name, caller.Name, detail));
                });

                var (score, _) = await Dashboard.TrustNow.ComputeAndStoreAsync(store, options, agent);
                var answer = new JsonObject
                {
                    ["agent_id"] = AimIds.ToAim(agent.Id),
                    ["name"] = agent.Name,
                    ["display_name"] = details.DisplayName ?? agent.Name,
                    ["public_key"] = Convert.ToBase64String(publicKey),
                    ["aim_url"] = $"{http.Request.Scheme}://{http.Request.Host.Value}{http.Request.PathBase.Value}",
                    ["status"] = agent.Status,
                    ["trust_score"] = score,
                    ["key_custody"] = custody,
                    ["capability_requests"] = new JsonArray([.. requested.Select(r => (JsonNode)r.Capability)]),
                    ["message"] = created
                        ? "Agent registered. An admin grants its capabilities (aim agents grant); actions outside its grants are denied."
                        : "Agent registered already with this key.",
                };
                if (secretKey is not null)
                {
                    // Shown once and never stored: the 64-byte seed-and-public-key form AIM's SDKs read.
                    answer["private_key"] = Convert.ToBase64String(secretKey);
                }

                return Results.Json(answer, statusCode: created ? 201 : 200);
            }
            finally
            {
                if (secretKey is not null)
                {
                    Ed25519.Wipe(secretKey);
                }
            }
        });
    }

    /// <summary>A client-held key: the registration must be signed by it (proof of possession), and that signature is used once.</summary>
    private static async Task<byte[]> ProveClientKeyAsync(HttpContext http, ServerStore store, AimServerOptions options, string keyText, byte[] body)
    {
        var publicKey = new byte[48];
        if (keyText.Length > 64 || !Convert.TryFromBase64String(keyText, publicKey, out int n) || n != Ed25519.PublicKeySize)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'public_key' must be a base64 32-byte Ed25519 key.");
        }

        publicKey = publicKey[..n];
        string? signed = http.Request.Headers["X-Public-Key"].ToString(), signature = http.Request.Headers["X-Signature"].ToString(), timestamp = http.Request.Headers["X-Timestamp"].ToString();
        if (signed.Length == 0 || signature.Length == 0 || timestamp.Length == 0)
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureMissing, "A registration with 'public_key' must be signed by that key (X-Public-Key, X-Timestamp, X-Signature).");
        }

        if (signed != keyText)
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureInvalid, "X-Public-Key must be the 'public_key' being registered.");
        }

        var sig = new byte[96];
        if (timestamp.Length > 12 || !timestamp.All(char.IsAsciiDigit) || !long.TryParse(timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ts)
            || signature.Length > 128 || !Convert.TryFromBase64String(signature, sig, out int sigLength) || sigLength != Ed25519.SignatureSize)
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureInvalid, "X-Timestamp must be Unix seconds and X-Signature a base64 Ed25519 signature.");
        }

        if (Math.Abs(options.TimeProvider.GetUtcNow().ToUnixTimeSeconds() - ts) > (long)options.ClockSkew.TotalSeconds)
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureExpired, $"X-Timestamp is more than {options.ClockSkew.TotalSeconds:0} s from the server clock.");
        }

        var message = AimRequestAuth.Message("POST", AimRequestAuth.SignedPath(http), timestamp, body);
        if (!Ed25519.Verify(publicKey, message, sig.AsSpan(0, sigLength)))
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureInvalid, "The registration is not signed by 'public_key'.");
        }

        if (!await store.TryUseNonceAsync(AgentIdentity.AipIdOf(publicKey), AimRequestAuth.ReplayKey(message), (ts + (long)options.ClockSkew.TotalSeconds + 1) * 1000))
        {
            throw ApiException.Unauthorized(CompatErrors.SignatureReplayed, "This AIM request signature was used before (replay).");
        }

        return publicKey;
    }

    /// <summary>AIM sends its API key as <c>X-AIM-API-Key</c>; the usual <c>Authorization: Bearer</c> works too.</summary>
    private static async Task<ApiCaller> AimApiKeyAsync(HttpContext http, RequestAuth auth, ServerStore store)
    {
        var values = http.Request.Headers["X-AIM-API-Key"];
        if (values.Count == 0)
        {
            return await auth.ApiKeyAsync(http);
        }

        string presented = values.Count == 1 ? values[0]!.Trim() : string.Empty;
        if (presented.Length is 0 or > 512)
        {
            throw ApiException.Unauthorized(ErrorCodes.ApiKeyInvalid, "The API key is not valid.");
        }

        var hash = ApiKeys.Hash(presented);
        var key = await store.FindApiKeyAsync(ApiKeys.IdOf(hash));
        return key is null || key.Revoked is not null || !ApiKeys.Matches(key.Hash, hash)
            ? throw ApiException.Unauthorized(ErrorCodes.ApiKeyInvalid, "The API key is not valid.")
            : new ApiCaller(key);
    }

    // ---- verifications ----

    private static void MapVerifications(RouteGroupBuilder api)
    {
        // The one pipeline decides: AIM's request is translated into the server's own verification body and goes through
        // ServerDecider.Read and DecideAsync, so approvals, limits, the audit log and trust scores are the same as for any agent.
        // The signature's replay key is stored in the same transaction as the verification.
        api.MapPost("/sdk-api/verifications", async (HttpContext http, AimRequestAuth aim, ServerDecider decider, ServerStore store, ServerMetrics metrics, AimServerOptions options) =>
        {
            var started = Stopwatch.GetTimestamp();
            var signed = await aim.AuthenticateAsync(http, deferReplay: true);
            var (request, textShared) = decider.Read(signed.Caller, AimVerifications.Translate(signed));
            var row = await decider.DecideAsync(signed.Caller, request, textShared, aim.ReadmitAsync, async c => await aim.ReplayedAsync(c.Agent));
            metrics.Verifications.Add(1, new KeyValuePair<string, object?>("status", row.Status));
            metrics.VerificationDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            // A denial is an answer (201 with status denied), not an HTTP 403: AIM's SDKs raise their ActionDeniedError only for the former.
            return Results.Json(AimVerifications.View(row, row.Created, await LastTrustAsync(store, row)), statusCode: 201);
        });

        api.MapGet("/sdk-api/verifications/{id}", async (string id, HttpContext http, AimRequestAuth aim, ServerStore store, AimServerOptions options) =>
        {
            var signed = await aim.AuthenticateAsync(http);
            var row = await OwnVerificationAsync(store, signed.Caller, id);
            return Results.Json(AimVerifications.View(row, options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(), await LastTrustAsync(store, row)));
        });

        // {result: success|failure, result_summary?, error_message?}: the outcome of an approved action, once; recorded in the
        // audit log with the agent's signed request as evidence.
        api.MapPost("/sdk-api/verifications/{id}/result", async (string id, HttpContext http, AimRequestAuth aim, ServerStore store, ServerAuditLog audit) =>
        {
            var signed = await aim.AuthenticateAsync(http);
            var caller = signed.Caller;
            var body = RequestJson.Object(caller.Body);
            string result = RequestJson.String(body, "result", 16, required: true)!;
            string outcome = AimVerifications.Outcome(result);
            string? summary = RequestJson.String(body, "result_summary", 2000), error = RequestJson.String(body, "error_message", 2000);
            RequestJson.String(body, "timestamp", 64);
            var row = await OwnVerificationAsync(store, caller, id);
            bool recorded = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                if (!await store.RecordOutcomeAsync(c, tx, caller.OrgId, caller.Agent.Id, row.Id, outcome))
                {
                    return (false, (AuditEvent?)null);
                }

                string? said = summary ?? error;
                string note = said is null ? string.Empty : " - " + AimVerifications.Clip(said);
                var record = ServerEvents.Event("verification.result", caller.Agent.Id, caller.Agent.Name, caller.Agent.Name, $"{row.Capability} ({row.Id}): {outcome}{note}");
                record["aim_request"] = signed.Evidence("POST");
                return (true, new AuditEvent(caller.Agent.Id, record));
            });
            if (!recorded)
            {
                throw ApiException.Conflict("result_not_accepted", "Only an approved verification takes one result.");
            }

            return Results.Json(new { id = AimIds.ToAim(row.Id), status = "result_recorded", result });
        });
    }

    private static async Task<VerificationRow> OwnVerificationAsync(ServerStore store, AgentCaller caller, string id)
    {
        var row = AimIds.ToServerId(id) is { } serverId ? await store.FindVerificationAsync(caller.OrgId, serverId) : null;
        return row is null || row.AgentId != caller.Agent.Id ? throw ApiException.NotFound("verification") : row;
    }

    // The last score the server computed (at registration, on the dashboard, GET /agents/{id}/trust): reading it costs one row.
    private static async Task<double?> LastTrustAsync(ServerStore store, VerificationRow row)
    {
        var last = await store.ListTrustScoresAsync(row.OrgId, row.AgentId, 1);
        return last.Count == 0 ? null : Math.Round(last[0].Score, 2);
    }

    // ---- capability reports and requests ----

    private static void MapCapabilities(RouteGroupBuilder api)
    {
        // {capability_type, reason (10+ characters)}: a capability request an admin approves or rejects (aim approvals, dashboard).
        api.MapPost("/sdk-api/agents/{agent}/capability-requests", async (string agent, HttpContext http, AimRequestAuth aim, CompatStore compat, ServerStore store, ServerAuditLog audit) =>
        {
            var signed = await aim.AuthenticateAsync(http, agent);
            var body = RequestJson.Object(signed.Caller.Body);
            string name = RequestJson.String(body, "capability_type", AimCapabilityNames.MaxLength, required: true)!;
            string reason = RequestJson.String(body, "reason", 1000, required: true)!;
            if (reason.Trim().Length < 10)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'reason' must be at least 10 characters.");
            }

            var (row, created) = await RequestAsync(signed.Caller, compat, store, audit, name, reason);
            return Results.Json(RequestView(row, name), statusCode: created ? 201 : 200);
        });

        // AIM's SDK reports the capabilities it detects here, and AIM grants them. Here a report is a request: an admin decides,
        // nothing is granted by the agent's say-so. A capability the agent holds already is answered as granted.
        api.MapPost("/sdk-api/agents/{agent}/capabilities", async (string agent, HttpContext http, AimRequestAuth aim, CompatStore compat, ServerStore store, ServerAuditLog audit) =>
        {
            var signed = await aim.AuthenticateAsync(http, agent);
            var body = RequestJson.Object(signed.Caller.Body);
            string name = RequestJson.String(body, "capabilityType", AimCapabilityNames.MaxLength, required: true)!;
            var scope = body["scope"] switch
            {
                null => null,
                JsonObject o => o,
                _ => throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'scope' must be an object."),
            };
            var capability = AimCapabilityNames.Map(name);
            var policy = signed.Caller.Access!.Policy;
            if (policy.CheckCapability(capability, null).Allowed)
            {
                return Results.Json(new
                {
                    id = (string?)null,
                    agentId = AimIds.ToAim(signed.Caller.Agent.Id),
                    capabilityType = name,
                    capability = capability.Value,
                    capabilityScope = scope,
                    status = "granted",
                });
            }

            var (row, created) = await RequestAsync(signed.Caller, compat, store, audit, name, "reported by the SDK");
            return Results.Json(new
            {
                id = AimIds.ToAim(row.Id),
                agentId = AimIds.ToAim(row.AgentId),
                capabilityType = name,
                capability = row.Capability,
                capabilityScope = scope,
                status = row.Status,
                createdAt = RequestJson.Time(row.Created),
            }, statusCode: created ? 201 : 200);
        });
    }

    private static async Task<(CapabilityRequestRow Row, bool Created)> RequestAsync(AgentCaller caller, CompatStore compat, ServerStore store, ServerAuditLog audit, string aimName, string reason)
    {
        var capability = AimCapabilityNames.Map(aimName).Value;
        if (await compat.PendingRequestAsync(caller.OrgId, caller.Agent.Id, capability) is { } pending)
        {
            return (pending, false);
        }

        var row = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
        {
            var created = await store.CreateCapabilityRequestAsync(c, tx, caller.OrgId, caller.Agent.Id, capability, $"[AIM '{aimName}'] {reason}");
            return (created, ServerEvents.Of("capability_request.created", caller.Agent.Id, caller.Agent.Name, caller.Agent.Name, $"{capability} (AIM '{aimName}')"));
        });
        return (row, true);
    }

    private static object RequestView(CapabilityRequestRow r, string aimName) => new
    {
        id = AimIds.ToAim(r.Id),
        agent_id = AimIds.ToAim(r.AgentId),
        capability_type = aimName,
        capability = r.Capability,
        reason = r.Reason,
        status = r.Status,
        requested_at = RequestJson.Time(r.Created),
        created_at = RequestJson.Time(r.Created),
        updated_at = RequestJson.Time(r.Decided ?? r.Created),
    };

    // ---- MCP servers the agent talks to ----

    private static void MapMcp(RouteGroupBuilder api)
    {
        // {mcp_server_ids: [...], detected_method?, confidence?, metadata?}: the MCP servers this agent talks to (its "talks_to" list).
        api.MapPost("/sdk-api/agents/{agent}/mcp-servers", async (string agent, HttpContext http, AimRequestAuth aim, CompatStore compat, ServerAuditLog audit, AimServerOptions options) =>
        {
            var signed = await aim.AuthenticateAsync(http, agent);
            var caller = signed.Caller;
            var body = RequestJson.Object(caller.Body);
            var names = RequestJson.Strings(body, "mcp_server_ids").Distinct(StringComparer.Ordinal).ToList();
            if (names.Any(n => n.Length > 200))
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'mcp_server_ids' must be names of at most 200 characters.");
            }

            string method = RequestJson.String(body, "detected_method", 32) ?? "manual";
            double? confidence = RequestJson.Number(body, "confidence", 0, 100);
            long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var added = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
            {
                var fresh = await CompatStore.ReportMcpAsync(c, tx, caller.OrgId, caller.Agent.Id, names.Select(n => (n, method, confidence, (string?)null)).ToList(), now);
                return (fresh, ServerEvents.Of("agent.mcp_reported", caller.Agent.Id, caller.Agent.Name, caller.Agent.Name,
                    $"{method}: {AimVerifications.Clip(string.Join(", ", names))} ({fresh.Count} new)"));
            });
            var all = await compat.ListMcpAsync(caller.OrgId, caller.Agent.Id);
            return Results.Json(new
            {
                success = true,
                message = $"Successfully added {added.Count} MCP server(s)",
                agent_id = AimIds.ToAim(caller.Agent.Id),
                added = added.Count,
                added_servers = added,
                talks_to = all.Select(m => m.Name),
                mcp_server_ids = all.Select(m => m.Name),
                total_count = all.Count,
            });
        });

        foreach (var route in new[] { "/detection/agents/{agent}/report", "/sdk-api/agents/{agent}/detection/report" })
        {
            // {detections: [{mcpServer, detectionMethod, confidence, details?, sdkVersion?, timestamp?}]}; an "sdk_integration" event
            // names the agent's SDK (the dashboard's marker) instead of an MCP server.
            api.MapPost(route, async (string agent, HttpContext http, AimRequestAuth aim, CompatStore compat, ServerAuditLog audit, AimServerOptions options) =>
            {
                var signed = await aim.AuthenticateAsync(http, agent);
                var caller = signed.Caller;
                var body = RequestJson.Object(caller.Body);
                if (body["detections"] is not JsonArray detections || detections.Count is 0 or > 64)
                {
                    throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'detections' must be an array of 1 to 64 objects.");
                }

                var servers = new List<(string, string, double?, string?)>();
                (string Sdk, string Version)? sdk = null;
                foreach (var item in detections)
                {
                    if (item is not JsonObject d)
                    {
                        throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "Each detection must be an object.");
                    }

                    string server = RequestJson.String(d, "mcpServer", 200, required: true)!;
                    string method = RequestJson.String(d, "detectionMethod", 32) ?? "sdk_runtime";
                    double? confidence = RequestJson.Number(d, "confidence", 0, 100);
                    string? sdkVersion = RequestJson.String(d, "sdkVersion", 100);
                    if (d["details"] is not (null or JsonObject))
                    {
                        throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'details' must be an object.");
                    }

                    if (method == "sdk_integration" || server == "aim-sdk-integration")
                    {
                        sdk = AimSdkKinds.FromSdkVersion(sdkVersion) ?? sdk;
                        continue;
                    }

                    servers.Add((server, method, confidence, sdkVersion));
                }

                long now = options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                var added = await audit.ChangeAsync(caller.OrgId, async (c, tx) =>
                {
                    var fresh = await CompatStore.ReportMcpAsync(c, tx, caller.OrgId, caller.Agent.Id, servers, now);
                    if (sdk is var (kind, version))
                    {
                        await CompatStore.NoteSdkAsync(c, tx, caller.OrgId, caller.Agent.Id, kind, version, now);
                    }

                    string what = (servers.Count == 0 ? "no MCP servers" : AimVerifications.Clip(string.Join(", ", servers.Select(s => s.Item1))) + $" ({fresh.Count} new)")
                        + (sdk is var (k, v) ? $"; SDK {AimSdkKinds.Describe(k, v)}" : string.Empty);
                    return (fresh, ServerEvents.Of("agent.mcp_reported", caller.Agent.Id, caller.Agent.Name, caller.Agent.Name, "detections: " + what));
                });
                var names = servers.Select(s => s.Item1).Distinct(StringComparer.Ordinal).ToList();
                return Results.Json(new
                {
                    success = true,
                    detectionsProcessed = detections.Count,
                    newMCPs = added,
                    existingMCPs = names.Except(added, StringComparer.Ordinal),
                    message = $"Processed {detections.Count} detection(s)",
                });
            });
        }
    }

    private static List<string> OptionalStrings(JsonObject body, string name, int maxLength)
    {
        if (body[name] is null or JsonArray { Count: 0 })
        {
            return [];
        }

        var list = RequestJson.Strings(body, name);
        return list.Any(s => s.Length > maxLength)
            ? throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be strings of at most {maxLength} characters.")
            : list;
    }
}
