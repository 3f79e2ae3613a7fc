using System.Globalization;
using System.Text.Json;
using Aim.Capabilities;
using Aim.Identity;

namespace Aim.Policy;

/// <summary>
/// The policies of several agents, usually loaded from a JSON policy file. An agent that has no entry
/// gets <see cref="AgentPolicy.DenyAll"/> (fail closed).
/// </summary>
/// <remarks>
/// <para>Policy file schema (every field optional unless noted; unknown fields are errors):</para>
/// <code>
/// {
///   "$schema": "…",                         // ignored
///   "version": 1,                            // 1 when present
///   "agents": {                              // required; keys are agent names
///     "support-agent": {
///       "grants": [                          // strings "ns:action[@resource-glob]" or objects
///         "db:read@users_*",
///         "email:send",
///         { "capability": "file:read", "resources": ["s3://bucket/*", "/tmp/*"] }
///       ],
///       "attributes": {                      // ABAC: value or list of accepted values
///         "environment": "prod",
///         "region": ["eu-west-1", "eu-central-1"]
///       },
///       "timeWindows": [                     // UTC; days: mon..sun or monday..sunday; none = every day
///         { "days": ["mon", "tue", "wed", "thu", "fri"], "startHour": 9, "endHour": 17 }
///       ],
///       "rateLimits": [                      // sliding window; per is a TimeSpan "[d.]hh:mm:ss"
///         { "capability": "email:send", "limit": 10, "per": "00:01:00" }
///       ],
///       "budget": { "limitUsd": 50.0, "per": "1.00:00:00" }   // per optional (lifetime budget)
///     }
///   }
/// }
/// </code>
/// <para>Comments and trailing commas are not accepted; duplicate fields are errors. Every error is a
/// <see cref="PolicyFormatException"/> naming the file and the JSON path.</para>
/// </remarks>
public sealed class AgentPolicySet
{
    /// <summary>The largest policy file read.</summary>
    public const int MaxFileSize = 4 * 1024 * 1024;

    private readonly Dictionary<string, AgentPolicy> _agents;

    /// <summary>Creates a set from policies built in code.</summary>
    /// <exception cref="ArgumentException">Two policies are for the same agent.</exception>
    public AgentPolicySet(IEnumerable<AgentPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        _agents = new Dictionary<string, AgentPolicy>(StringComparer.Ordinal);
        foreach (var policy in policies)
        {
            if (!_agents.TryAdd(policy.Agent, policy))
            {
                throw new ArgumentException($"Two policies for agent '{policy.Agent}'.", nameof(policies));
            }
        }
    }

    /// <summary>The policies by (lower-case) agent name.</summary>
    public IReadOnlyDictionary<string, AgentPolicy> Agents => _agents;

    /// <summary>The file the set was loaded from, if any.</summary>
    public string? SourcePath { get; private init; }

    /// <summary>The policy of an agent; <see cref="AgentPolicy.DenyAll"/> when the set has none.</summary>
    /// <exception cref="KeyStoreException">The agent name is invalid.</exception>
    public AgentPolicy For(string agent)
    {
        var name = AgentName.Normalize(agent);
        return _agents.TryGetValue(name, out var policy) ? policy : AgentPolicy.DenyAll(name);
    }

    /// <summary>Loads a policy file.</summary>
    /// <exception cref="PolicyFormatException">The file is missing, unreadable, too large or malformed (the message names the file and the JSON path).</exception>
    public static AgentPolicySet Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] content;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new PolicyFormatException(path, null, "the file does not exist.");
            }

            if (info.Length > MaxFileSize)
            {
                throw new PolicyFormatException(path, null, $"the file is {info.Length} bytes; the limit is {MaxFileSize}.");
            }

            content = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PolicyFormatException(path, null, $"the file cannot be read: {ex.Message}", ex);
        }

        return Parse(content, path);
    }

    /// <summary>Parses policy JSON text.</summary>
    /// <param name="json">The document.</param>
    /// <param name="source">A name for messages (the file path), or null.</param>
    /// <exception cref="PolicyFormatException">The document is malformed.</exception>
    public static AgentPolicySet Parse(string json, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(System.Text.Encoding.UTF8.GetBytes(json), source);
    }

    /// <summary>Parses policy JSON bytes (UTF-8).</summary>
    /// <exception cref="PolicyFormatException">The document is malformed.</exception>
    public static AgentPolicySet Parse(ReadOnlyMemory<byte> utf8Json, string? source = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = 32, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        }
        catch (JsonException ex)
        {
            throw new PolicyFormatException(source, ex.Path ?? "$", $"invalid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).", ex);
        }

        using (document)
        {
            try
            {
                var reader = new PolicyFileReader(source);
                return new AgentPolicySet(reader.ReadRoot(document.RootElement)) { SourcePath = source };
            }
            catch (InvalidOperationException ex)
            {
                // Reading a string that is not valid UTF-8; every other element access is type-checked first.
                throw new PolicyFormatException(source, "$", "the document is not valid UTF-8 text.", ex);
            }
        }
    }
}
