using System.Text.Json;
using System.Text.Json.Serialization;
using Aim.Identity;

namespace Aim.Gateway;

/// <summary>
/// The gateway's policy file (<c>--config gateway.json</c>): where to listen, where to forward, whose tokens to trust
/// and the limits every token must meet.
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
    /// Per agent (the token's holder, an AIP id): the MCP tools it may call; <c>*</c> allows all. When set, an agent
    /// not listed may call no tool.
    /// </summary>
    [JsonPropertyName("allowedTools")]
    public Dictionary<string, List<string>>? AllowedTools { get; set; }

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

    /// <summary>Largest JSON-RPC request body the gateway inspects, in bytes (larger JSON bodies are refused with 413).</summary>
    [JsonPropertyName("maxBodyBytes")]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Most keep-alive connections the gateway opens to the upstream at once (requests beyond wait for one); default 256.</summary>
    [JsonPropertyName("maxUpstreamConnections")]
    public int MaxUpstreamConnections { get; set; } = 256;

    /// <summary>
    /// How long the audit writer gathers decisions before handing them to the log as one batch, in milliseconds
    /// (0..1000, default 2). Longer windows mean fewer disk syncs; a decision is durable at most about this much plus one
    /// commit after it was answered.
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
            config = JsonSerializer.Deserialize<GatewayConfig>(json, new JsonSerializerOptions { AllowTrailingCommas = true, ReadCommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new AimConfigurationException("The gateway config is not valid JSON: " + ex.Message, ex);
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
    }
}
