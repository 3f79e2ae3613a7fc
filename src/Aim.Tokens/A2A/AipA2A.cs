using System.Text.Json.Nodes;
using Aim.Tokens.Verification;

namespace Aim.Tokens.A2A;

/// <summary>
/// The AIP binding for A2A (agent-to-agent JSON-RPC): an agent card advertises <c>aip_identity</c>; a request carries its
/// token in <c>params.metadata.aip_token</c>; the receiver accepts it only when the last delegation names the receiver.
/// </summary>
public static class AipA2A
{
    /// <summary>The agent card member holding the agent's AIP identifier.</summary>
    public const string CardIdentityMember = "aip_identity";

    /// <summary>The metadata member holding the token.</summary>
    public const string TokenMember = "aip_token";

    /// <summary>Adds <c>aip_identity</c> to an agent card (returns the same object).</summary>
    /// <exception cref="AipException">The identifier is invalid.</exception>
    public static JsonObject WithAipIdentity(JsonObject agentCard, string aipId)
    {
        ArgumentNullException.ThrowIfNull(agentCard);
        agentCard[CardIdentityMember] = Identity.AipIdentifier.Parse(aipId).Value;
        return agentCard;
    }

    /// <summary>The <c>aip_identity</c> of an agent card, or null when it has none or it is not a valid identifier.</summary>
    public static string? ReadAipIdentity(JsonObject agentCard) =>
        agentCard?[CardIdentityMember] is JsonValue v && v.TryGetValue<string>(out var id) && Identity.AipIdentifier.TryParse(id, out _) ? id : null;

    /// <summary>Puts a token into <c>params.metadata.aip_token</c> of a JSON-RPC request (creating the objects as needed).</summary>
    /// <exception cref="ArgumentException"><c>params</c> or <c>metadata</c> exists but is not an object.</exception>
    public static JsonObject AttachToken(JsonObject rpcRequest, string token)
    {
        ArgumentNullException.ThrowIfNull(rpcRequest);
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        var parameters = rpcRequest["params"] ?? (rpcRequest["params"] = new JsonObject());
        if (parameters is not JsonObject p)
        {
            throw new ArgumentException("params is not an object.", nameof(rpcRequest));
        }

        var metadata = p["metadata"] ?? (p["metadata"] = new JsonObject());
        if (metadata is not JsonObject m)
        {
            throw new ArgumentException("params.metadata is not an object.", nameof(rpcRequest));
        }

        m[TokenMember] = token;
        return rpcRequest;
    }

    /// <summary>The token in <c>params.metadata.aip_token</c>, or null.</summary>
    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMalformed"/>: the member exists but is not a string.</exception>
    public static string? ReadToken(JsonObject rpcRequest)
    {
        var node = rpcRequest?["params"]?["metadata"]?[TokenMember];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue v && v.TryGetValue<string>(out var token)
            ? token
            : throw AipException.Malformed("params.metadata.aip_token is not a string.");
    }

    /// <summary>
    /// Verifies the token of an incoming A2A request for <paramref name="receiverAipId"/>: the token must verify, allow
    /// <paramref name="tool"/> (when given), and its last delegation (or <c>sub</c>) must name the receiver.
    /// </summary>
    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMissing"/> without a token; any verifier code; and
    /// <see cref="AipErrorCodes.ScopeInsufficient"/> when the token was delegated to someone else.</exception>
    public static async ValueTask<AipVerifiedToken> VerifyRequestAsync(AipVerifier verifier, JsonObject rpcRequest, string receiverAipId, string? tool = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        var verified = await verifier.VerifyAsync(ReadToken(rpcRequest), new AipAccessRequest(tool), cancellationToken).ConfigureAwait(false);
        if (!string.Equals(verified.Subject, receiverAipId, StringComparison.Ordinal))
        {
            throw new AipException(AipErrorCodes.ScopeInsufficient, "The token's last delegation does not name this agent.");
        }

        return verified;
    }
}
