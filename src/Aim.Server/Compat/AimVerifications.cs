using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Server.Endpoints;
using Aim.Server.Storage;

namespace Aim.Server.Compat;

/// <summary>
/// Translates AIM's verification request into the server's own (<c>POST /api/v1/verifications</c>) body, which
/// <c>ServerDecider.Read</c> then reads and the one pipeline decides; and the stored verification back into AIM's answer.
/// Nothing here decides: the translation only names the capability, the risk floor, JIT and attributes.
/// </summary>
internal static class AimVerifications
{
    /// <summary>Context members the translation reads itself (everything else with a string value is an attribute).</summary>
    public static IReadOnlyList<string> ReservedContextKeys { get; } = ["jit_access", "jit_timeout_seconds", "risk_level"];

    /// <summary>
    /// AIM's request body <c>{agent_id, action_type, resource, context, timestamp, signature, public_key, risk_level?}</c> as
    /// the server's verification body <c>{action_id, capability, resource, risk, jit, jit_timeout_seconds, attributes}</c>.
    /// </summary>
    /// <exception cref="ApiException">400 (malformed or unmappable), 401 (the body's own signature or key), 403 (another agent).</exception>
    public static JsonObject Translate(AimCaller aim)
    {
        var caller = aim.Caller;
        var body = RequestJson.Object(caller.Body);
        string agentText = RequestJson.String(body, "agent_id", 64, required: true)!;
        if (AimIds.ToServerId(agentText) != caller.Agent.Id)
        {
            throw ApiException.Forbidden("agent_mismatch", "'agent_id' must be the signing agent (X-Agent-ID).");
        }

        if (RequestJson.String(body, "public_key", 128, required: true) != aim.PublicKey)
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureInvalid, "'public_key' must be the key that signed the request (X-Public-Key).");
        }

        string actionType = RequestJson.String(body, "action_type", AimCapabilityNames.MaxLength, required: true)!;
        string? resource = body["resource"] is null ? null : RequestJson.String(body, "resource", 512);
        RequestJson.String(body, "timestamp", 64, required: true);
        string signature = RequestJson.String(body, "signature", 128, required: true)!;
        var context = body["context"] switch
        {
            null => null,
            JsonObject o => o,
            _ => throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'context' must be an object."),
        };

        if (!BodySignatureVerifies(caller.Body, signature, caller.Key.PublicKey))
        {
            throw ApiException.Unauthorized(ErrorCodes.SignatureInvalid,
                "'signature' does not verify over {\"action_type\", \"agent_id\", \"context\", \"resource\", \"timestamp\"} as sent.");
        }

        var capability = AimCapabilityNames.Map(actionType);
        var risk = AimRiskTable.Of(actionType);
        foreach (var declared in new[] { RequestJson.String(body, "risk_level", 16), context is null ? null : ContextString(context, "risk_level", 16) })
        {
            if (declared is not null)
            {
                risk = Max(risk, ParseRisk(declared));
            }
        }

        var translated = new JsonObject
        {
            ["action_id"] = Guid.NewGuid().ToString(),
            ["capability"] = capability.Value,
            ["resource"] = resource,
            ["risk"] = risk.ToString().ToLowerInvariant(),
            ["method"] = "aim:" + actionType,
        };
        if (context is not null)
        {
            if (context["jit_access"] is { } jit)
            {
                translated["jit"] = jit is JsonValue v && v.TryGetValue<bool>(out bool b) ? b : throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'context.jit_access' must be true or false.");
            }

            if (context["jit_timeout_seconds"] is { } timeout)
            {
                translated["jit_timeout_seconds"] = timeout.DeepClone();
            }

            var attributes = new JsonObject();
            foreach (var (key, value) in context)
            {
                if (!ReservedContextKeys.Contains(key) && value is JsonValue s && s.GetValueKind() == JsonValueKind.String)
                {
                    attributes[key] = s.DeepClone();
                }
            }

            if (attributes.Count > 0)
            {
                translated["attributes"] = attributes;
            }
        }

        return translated;
    }

    /// <summary>
    /// AIM's body signature covers <c>{"action_type": …, "agent_id": …, "context": …, "resource": …, "timestamp": …}</c> (Python's
    /// <c>json.dumps(sort_keys=True)</c>; <c>risk_level</c> too when present). The members are taken as the JSON text the
    /// body carries, so the check needs no re-serialization of numbers or escapes: a body the SDK wrote verifies byte for byte.
    /// </summary>
    public static bool BodySignatureVerifies(byte[] body, string signatureText, ReadOnlySpan<byte> publicKey)
    {
        var signature = new byte[96];
        if (signatureText.Length > 128 || !Convert.TryFromBase64String(signatureText, signature, out int written) || written != Ed25519.SignatureSize)
        {
            return false;
        }

        return Ed25519.Verify(publicKey, SignedPayload(body), signature.AsSpan(0, written));
    }

    /// <summary>The bytes AIM's body signature covers, from the member texts of <paramref name="body"/>.</summary>
    public static byte[] SignedPayload(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var names = new List<string> { "action_type", "agent_id", "context", "resource", "timestamp" };
        if (root.TryGetProperty("risk_level", out var risk) && risk.ValueKind == JsonValueKind.String && risk.GetString()!.Length > 0)
        {
            names.Add("risk_level");
            names.Sort(StringComparer.Ordinal);
        }

        var sb = new StringBuilder("{");
        foreach (var name in names)
        {
            if (sb.Length > 1)
            {
                sb.Append(", ");
            }

            string text = root.TryGetProperty(name, out var value) ? value.GetRawText() : name == "context" ? "{}" : "null";
            sb.Append('"').Append(name).Append("\": ").Append(text);
        }

        return Encoding.UTF8.GetBytes(sb.Append('}').ToString());
    }

    /// <summary>A stored verification as AIM's SDKs read it.</summary>
    public static JsonObject View(VerificationRow row, long now, double? trustScore)
    {
        var ours = Views.Verification(row, now);
        // AIM's SDKs know approved, denied and pending; an approval nobody gave in time is a denial (approval_timeout), so the
        // SDK raises its ActionDeniedError at once instead of polling until its own timeout.
        string status = ours.Status is DecisionStatus.Approved or DecisionStatus.Pending ? ours.Status : DecisionStatus.Denied;
        var view = new JsonObject
        {
            ["id"] = AimIds.ToAim(row.Id),
            ["status"] = status,
            ["approved_by"] = status == DecisionStatus.Approved ? row.DecidedBy ?? "policy" : null,
            ["expires_at"] = null,
            ["denial_reason"] = status == DecisionStatus.Denied ? $"{ours.ReasonCode}: {ours.Reason}" : null,
            ["trust_score"] = trustScore,
            ["capability"] = row.Capability,
            ["risk"] = row.Risk,
            ["reason_code"] = ours.ReasonCode,
            ["step"] = ours.Step,
        };
        return view;
    }

    private static string? ContextString(JsonObject context, string name, int maxLength) =>
        context[name] is null ? null : RequestJson.String(context, name, maxLength);

    private static Aim.RiskLevel ParseRisk(string text) => text.ToLowerInvariant() switch
    {
        "low" or "info" => Aim.RiskLevel.Low,
        "medium" or "warning" => Aim.RiskLevel.Medium,
        "high" => Aim.RiskLevel.High,
        "critical" => Aim.RiskLevel.Critical,
        _ => throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'risk_level' must be low, medium, high or critical."),
    };

    private static Aim.RiskLevel Max(Aim.RiskLevel a, Aim.RiskLevel b) => a > b ? a : b;

    /// <summary>AIM's result values onto the server's outcomes.</summary>
    public static string Outcome(string result) => result switch
    {
        "success" => "success",
        "failure" => "error",
        _ => throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'result' must be success or failure."),
    };

    /// <summary>An audit detail of at most <paramref name="max"/> characters.</summary>
    public static string Clip(string? text, int max = 200) => text is null ? string.Empty : text.Length > max ? text[..max] + "…" : text;

    public static string Time(long unixMs) => RequestJson.Time(unixMs);

    public static string Invariant(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
