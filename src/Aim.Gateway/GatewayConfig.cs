using System.Text.Json;
using System.Text.Json.Serialization;
using Aim.Capabilities;
using Aim.Identity;

namespace Aim.Gateway;

/// <summary>
/// The gateway's config (<c>--config gateway.json</c>): where to listen, where to forward, whose tokens to trust, the limits
/// every token must meet (checked in step 4 of the call path) and the gateway agent's policy (the engine's policy source).
/// </summary>
public sealed class GatewayConfig
{
    /// <summary>The URL to listen on, for example <c>http://127.0.0.1:8088</c>.</summary>
    [JsonPropertyName("listen")]
    public string Listen { get; set; } = string.Empty;

    /// <summary>The protected server's base URL (an MCP streamable-HTTP or A2A server).</summary>
    [JsonPropertyName("upstream")]
    public string Upstream { get; set; } = string.Empty;

    /// <summary>Trusted token roots: <c>aip:key:ed25519:z…</c> identifiers.</summary>
    [JsonPropertyName("trustedKeys")]
    public List<string> TrustedKeys { get; set; } = [];

    /// <summary>
    /// Whether every request must carry an AIP token (default true): step 4 of the call path refuses one without
    /// (<c>aip_token_missing</c>, 401). False lets requests without a token be decided on the gateway's policy alone (a
    /// token that is present is still verified); only for a gateway whose grants say everything.
    /// </summary>
    [JsonPropertyName("requireToken")]
    public bool RequireToken { get; set; } = true;

    /// <summary>
    /// An Aim policy file (the format of <c>AimOptions.PolicyFile</c>); the entry of <see cref="AgentName"/> is the gateway's
    /// policy: grants of <c>gateway:forward</c> (resource <c>tool:&lt;name&gt;</c> for a tool call, the request path for
    /// anything else), attributes, time windows, rate limits and a budget.
    /// </summary>
    [JsonPropertyName("policyFile")]
    public string? PolicyFile { get; set; }

    /// <summary>
    /// Grants of the gateway's agent, added to the policy file's (for example <c>gateway:forward@tool:search</c>,
    /// <c>gateway:forward@/*</c>). With neither grants nor a policy file the gateway grants <c>gateway:forward</c>: every
    /// request, each tool call limited by the token's <c>tool:*</c> scopes.
    /// </summary>
    [JsonPropertyName("grants")]
    public List<string>? Grants { get; set; }

    /// <summary>The deepest delegation chain accepted (0 = only root-issued tokens).</summary>
    [JsonPropertyName("maxDepth")]
    public int? MaxDepth { get; set; }

    /// <summary>The highest token budget accepted, in US dollars.</summary>
    [JsonPropertyName("maxBudgetUsd")]
    public decimal? MaxBudgetUsd { get; set; }

    /// <summary>The longest token lifetime accepted (<c>exp - iat</c>), in seconds.</summary>
    [JsonPropertyName("maxTtlSeconds")]
    public int? MaxTtlSeconds { get; set; }

    /// <summary>The gateway's own agent name in Aim (its key signs the audit log); default <c>aip-gateway</c>.</summary>
    [JsonPropertyName("agentName")]
    public string AgentName { get; set; } = "aip-gateway";

    /// <summary>Aim home for the gateway's key and audit log; default <c>AIM_HOME</c>, then <c>~/.aim</c>.</summary>
    [JsonPropertyName("home")]
    public string? Home { get; set; }

    /// <summary>The highest <see cref="MaxBodyBytes"/> accepted: 64 MiB (JSON-RPC bodies are held in memory to be inspected).</summary>
    public const int MaxBodyLimit = 64 * 1024 * 1024;

    /// <summary>Largest request body, in bytes: every body is read whole and inspected; larger ones are refused with 413.</summary>
    [JsonPropertyName("maxBodyBytes")]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Most keep-alive connections the gateway opens to the upstream at once (requests beyond wait for one); default 256.</summary>
    [JsonPropertyName("maxUpstreamConnections")]
    public int MaxUpstreamConnections { get; set; } = 256;

    /// <summary>
    /// The group-commit window of the gateway's audit log, in milliseconds (0..1000, default 2): records that arrive within
    /// it are committed in one transaction. The gateway's medium-risk records are queued, not waited for, so a longer
    /// window means fewer disk syncs and a record durable at most about this much plus one commit after its request.
    /// </summary>
    [JsonPropertyName("auditWindowMilliseconds")]
    public int AuditWindowMilliseconds { get; set; } = 2;

    /// <summary>Reads and validates a config file.</summary>
    /// <exception cref="AimConfigurationException">The file is missing, not JSON, or invalid (the message says which member).</exception>
    public static GatewayConfig Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new AimConfigurationException($"Cannot read gateway config '{path}': {ex.Message}", ex);
        }

        return Parse(json);
    }

    /// <summary>Parses and validates config JSON.</summary>
    /// <exception cref="AimConfigurationException">Not JSON, or invalid.</exception>
    public static GatewayConfig Parse(string json)
    {
        GatewayConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<GatewayConfig>(json, new JsonSerializerOptions
            {
                AllowTrailingCommas = true,
                ReadCommentHandling = JsonCommentHandling.Skip,
                // A misspelt or retired member (such as 'allowedTools', now grants) must not be silently ignored.
                UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            });
        }
        catch (JsonException ex)
        {
            throw new AimConfigurationException(
                "The gateway config is not valid JSON or has an unknown member: " + ex.Message +
                (json.Contains("\"allowedTools\"", StringComparison.Ordinal) ? " ('allowedTools' was replaced by 'grants' such as gateway:forward@tool:<name>.)" : string.Empty), ex);
        }

        if (config is null)
        {
            throw new AimConfigurationException("The gateway config is empty.");
        }

        config.Validate();
        return config;
    }

    /// <summary>Checks every member.</summary>
    /// <exception cref="AimConfigurationException">The first invalid member.</exception>
    public void Validate()
    {
        if (!Uri.TryCreate(Listen, UriKind.Absolute, out var listen) || listen.Scheme is not ("http" or "https"))
        {
            throw new AimConfigurationException("'listen' must be an http(s) URL.");
        }

        if (!Uri.TryCreate(Upstream, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https"))
        {
            throw new AimConfigurationException("'upstream' must be an http(s) URL.");
        }

        if (TrustedKeys is null || TrustedKeys.Count == 0)
        {
            throw new AimConfigurationException("'trustedKeys' must list at least one aip:key identifier.");
        }

        foreach (var key in TrustedKeys)
        {
            if (!AgentIdentity.TryPublicKeyFromAipId(key, out _))
            {
                throw new AimConfigurationException($"'trustedKeys' entry '{key}' is not an aip:key:ed25519 identifier.");
            }
        }

        if (MaxDepth is < 0 || MaxBudgetUsd is < 0 || MaxTtlSeconds is <= 0 || MaxBodyBytes is <= 0 or > MaxBodyLimit || MaxUpstreamConnections <= 0 || AuditWindowMilliseconds is < 0 or > 1000)
        {
            throw new AimConfigurationException("'maxDepth' and 'maxBudgetUsd' must not be negative; 'maxTtlSeconds', 'maxBodyBytes' and 'maxUpstreamConnections' must be positive ('maxBodyBytes' at most 64 MiB); 'auditWindowMilliseconds' is 0..1000.");
        }

        if (string.IsNullOrWhiteSpace(AgentName))
        {
            throw new AimConfigurationException("'agentName' must not be empty.");
        }

        foreach (var grant in Grants ?? [])
        {
            if (!CapabilityGrant.TryParse(grant, out _))
            {
                throw new AimConfigurationException($"'grants' entry '{grant}' is not a grant (namespace:action, optionally @resource-pattern).");
            }
        }

        if (PolicyFile is not null && !File.Exists(PolicyFile))
        {
            throw new AimConfigurationException($"'policyFile' '{PolicyFile}' does not exist.");
        }
    }
}
