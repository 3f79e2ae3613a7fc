using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Authorization;
using Aim.Capabilities;
using Aim.Identity;
using Aim.Server.Endpoints;
using Aim.Server.Security;
using Aim.Server.Storage;

namespace Aim.Server.Decisions;

/// <summary>
/// Decides a verification request on the server with the one <see cref="AuthorizationPipeline"/>: the agent's policy
/// from the database (<see cref="ServerPolicy"/>), step 3's state in the database (<see cref="DatabaseLimits"/>,
/// committed in the same transaction as the request's nonce and the verification), delegation chains against the
/// organization's trusted roots (<see cref="OrgChainChecks"/>), the intent check when the agent shared the action's text,
/// and JIT approval as a pending verification. The remote engine never decides locally; this is where it is decided.
/// </summary>
internal sealed class ServerDecider(DecisionStore decisions, AimServerOptions options, OrgChainChecks chains)
{
    /// <summary>The longest delegation token accepted in a request.</summary>
    public const int MaxTokenLength = 16 * 1024;

    /// <summary>
    /// Reads the request into an <see cref="ActionRequest"/> for the calling agent; <c>TextShared</c> is true when the agent
    /// sent the action's text (<c>intent</c>: description, parameter names, formatted argument values) for step 5.
    /// </summary>
    /// <exception cref="ApiException">The body is invalid (400 with a stable code).</exception>
    public (ActionRequest Request, bool TextShared) Read(AgentCaller caller, JsonObject body)
    {
        string actionId = RequestJson.String(body, "action_id", 128, required: true)!;
        string capabilityText = RequestJson.String(body, "capability", 200, required: true)!;
        if (!Capability.TryParse(capabilityText, out var capability))
        {
            throw ApiException.BadRequest("invalid_capability", "'capability' is not a valid capability.");
        }

        var declared = RiskLevel.Auto;
        if (RequestJson.String(body, "risk", 16) is { } riskText
            && (!Enum.TryParse(riskText, ignoreCase: true, out declared) || !Enum.IsDefined(declared) || char.IsDigit(riskText[0])))
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'risk' must be auto, low, medium, high or critical.");
        }

        // The server's classification is a floor: an agent cannot talk its own action down.
        var classified = RiskClassifier.Classify(capability, RiskLevel.Auto).Level;
        double timeoutSeconds = RequestJson.Number(body, "jit_timeout_seconds", 1, options.MaxApprovalTimeout.TotalSeconds) ?? 300;
        var intent = body["intent"] is null ? null : body["intent"] as JsonObject ?? throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'intent' must be an object.");
        var key = caller.Key;
        var request = new ActionRequest
        {
            ActionId = actionId,
            Agent = caller.Access is { } access && ReferenceEquals(access.Agent, caller.Agent) && ReferenceEquals(access.Key, key)
                ? access.Identity
                : new AgentIdentity(Guid.TryParse(caller.Agent.Id, out var id) ? id : Guid.Empty, caller.Agent.Name, key.PublicKey),
            Capability = capability,
            Resource = RequestJson.String(body, "resource", 512),
            Risk = declared > classified ? declared : classified,
            JitAccess = RequestJson.Bool(body, "jit"),
            JitTimeout = TimeSpan.FromSeconds(timeoutSeconds),
            Method = RequestJson.String(body, "method", 512) ?? string.Empty,
            Description = intent is null ? null : RequestJson.String(intent, "description", 2000),
            ParameterNames = intent is null ? [] : OptionalStrings(intent, "parameter_names"),
            Arguments = intent is null ? [] : [.. OptionalStrings(intent, "arguments", 4096)],
            Attributes = Attributes(body),
            DelegationToken = RequestJson.String(body, "delegation_token", MaxTokenLength),
            RequireDelegation = RequestJson.Bool(body, "require_delegation"),
            CostUsd = Cost(body),
            Time = options.TimeProvider.GetUtcNow(),
        };
        return (request, intent is not null);
    }

    /// <summary>
    /// Decides and stores the verification, retrying on current data when an agent, policy or root changed meanwhile.
    /// </summary>
    /// <exception cref="ApiException">A replayed nonce (via <paramref name="replayed"/>) or endless churn (503).</exception>
    public async Task<VerificationRow> DecideAsync(AgentCaller caller, ActionRequest request, bool textShared, Func<AgentCaller, Task<AgentCaller>> readmit, Func<AgentCaller, Task<Exception>> replayed)
    {
        const int MaxRedecisions = 8;
        for (int attempt = 0; ; attempt++)
        {
            var access = caller.Access!;
            var pipeline = new AuthorizationPipeline(new FixedPolicySource(access.Policy), chain: chains.For(access), intent: textShared ? options.IntentCheck : null, timeProvider: options.TimeProvider);
            var evaluation = await pipeline.EvaluateAsync(request, access.Policy, CancellationToken.None).ConfigureAwait(false);
            var (write, row) = await decisions.DecideAndStoreAsync(caller.Nonce, access.Generation, async (c, tx) =>
            {
                var limits = evaluation.NeedsLimits
                    ? await DatabaseLimits.TakeAsync(c, tx, decisions.Dialect, access.Agent.Id, new ContextLimitRequest(access.Policy, request, evaluation.ReserveCost)).ConfigureAwait(false)
                    : LimitResult.Free;
                return Row(access, request, pipeline.Conclude(evaluation, limits), limits, access.Policy.Budget);
            }).ConfigureAwait(false);
            switch (write)
            {
                case VerificationWrite.Stored:
                    return row!;
                case VerificationWrite.NonceReplayed:
                    throw await replayed(caller).ConfigureAwait(false);
                case VerificationWrite.AgentChanged when attempt < MaxRedecisions:
                    // Suspension, revocation, rotation, a grant, policy or root change landed meanwhile: decide again on current data.
                    caller = await readmit(caller).ConfigureAwait(false);
                    break;
                default:
                    throw new ApiException(503, "agent_changing", "The agent's data kept changing while deciding; try again.");
            }
        }
    }

    private VerificationRow Row(AgentAccess access, ActionRequest request, AuthorizationDecision decision, LimitResult limits, Aim.Policy.BudgetLimit? budget)
    {
        long now = request.Time.ToUnixTimeMilliseconds();
        string status = decision.Allowed ? DecisionStatus.Approved : decision.NeedsApproval ? DecisionStatus.Pending : DecisionStatus.Denied;
        return new VerificationRow(ServerStore.NewId(), access.Agent.OrgId, access.Agent.Id, request.ActionId, request.Capability.Value, request.Resource,
            request.Risk.ToString().ToLowerInvariant(), request.Method.Length == 0 ? null : request.Method, status,
            decision.Allowed ? null : decision.ReasonCode, decision.Allowed ? null : decision.Reason, null, null,
            now, now + (long)request.JitTimeout.TotalMilliseconds, status == DecisionStatus.Pending ? null : now, null, null)
        {
            Step = decision.Step?.ToString().ToLowerInvariant(),
            CostUsd = request.CostUsd == 0 ? null : request.CostUsd.ToString(CultureInfo.InvariantCulture),
            Reserved = limits.Reserved,
            BudgetPeriod = limits.Reserved && budget is not null ? DatabaseLimits.PeriodOf(budget, request.Time) : null,
            Details = decision.Details?.ToJsonString(),
            Evidence = decision.Evidence?.ToJsonString(),
        };
    }

    private static IReadOnlyList<string> OptionalStrings(JsonObject o, string name, int maxLength = 256)
    {
        if (o[name] is null)
        {
            return [];
        }

        if (o[name] is not JsonArray array || array.Count > 64)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be an array of at most 64 strings.");
        }

        var list = new List<string>(array.Count);
        foreach (var item in array)
        {
            if (item is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length > maxLength)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, $"'{name}' must be an array of strings of at most {maxLength} characters.");
            }

            list.Add(s);
        }

        return list;
    }

    private static Dictionary<string, string> Attributes(JsonObject body)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (body["attributes"] is null)
        {
            return result;
        }

        if (body["attributes"] is not JsonObject attributes || attributes.Count > 64)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'attributes' must be an object of at most 64 string values.");
        }

        foreach (var (key, value) in attributes)
        {
            if (key.Length is 0 or > 128 || value is not JsonValue v || !v.TryGetValue<string>(out var s) || s.Length > 512)
            {
                throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'attributes' must map non-empty keys to strings of at most 512 characters.");
            }

            result[key] = s;
        }

        return result;
    }

    private static decimal Cost(JsonObject body)
    {
        var node = body["cost_usd"];
        if (node is null)
        {
            return 0m;
        }

        if (node is not JsonValue v || !v.TryGetValue<decimal>(out var cost) || cost < 0 || cost > 1_000_000_000_000m)
        {
            throw ApiException.BadRequest(ErrorCodes.InvalidRequest, "'cost_usd' must be a non-negative number of US dollars.");
        }

        return cost;
    }
}
