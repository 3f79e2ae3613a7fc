using System.Text.Json;
using Aim.Capabilities;
using Aim.Policy;
using Aim.Server.Storage;

namespace Aim.Server.Decisions;

/// <summary>
/// An agent's policy on the server: its grants (the grants table) plus one policy-file entry (<c>attributes</c>,
/// <c>timeWindows</c>, <c>rateLimits</c>, <c>budget</c>, exactly as in an embedded policy file) stored per agent. The same
/// <see cref="AgentPolicy"/> the embedded engine builds, so the pipeline decides the same way.
/// </summary>
internal static class ServerPolicy
{
    /// <summary>The members a stored policy document may hold (grants live in the grants table).</summary>
    public static readonly string[] DocumentMembers = ["attributes", "timeWindows", "rateLimits", "budget", "intent"];

    /// <summary>Builds the policy from the agent's grants and its stored document (null: none).</summary>
    /// <exception cref="PolicyFormatException">The stored document no longer parses (never stored that way: fail closed).</exception>
    public static AgentPolicy Build(string agentName, IEnumerable<GrantRow> grants, string? document)
    {
        var builder = new AgentPolicy.Builder(agentName);
        foreach (var g in grants)
        {
            if (CapabilityGrant.TryParse(g.Pattern, out var grant))
            {
                builder.Grant(grant);
            }
        }

        if (document is not null)
        {
            builder.Include(ParseDocument(agentName, document));
        }

        return builder.Build();
    }

    /// <summary>
    /// Parses a policy document (a policy-file agent entry without grants) with the policy file's own strict reader, so the
    /// server accepts exactly what a policy file accepts.
    /// </summary>
    /// <exception cref="PolicyFormatException">The document is malformed (the message names the JSON path).</exception>
    public static AgentPolicy ParseDocument(string agentName, string document)
    {
        // Exactly one JSON object, checked before it is placed inside the wrapper (nothing can close the wrapper early).
        try
        {
            using var parsed = JsonDocument.Parse(document);
            if (parsed.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new PolicyFormatException("policy", "$", "A policy document is a JSON object.");
            }
        }
        catch (JsonException ex)
        {
            throw new PolicyFormatException("policy", "$", "A policy document is one valid JSON object: " + ex.Message, ex);
        }

        string name = JsonSerializer.Serialize(agentName);
        return AgentPolicySet.Parse("{\"version\":1,\"agents\":{" + name + ":" + document + "}}", "policy").For(agentName);
    }
}
