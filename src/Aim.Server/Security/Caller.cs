using Aim.Server.Storage;

namespace Aim.Server.Security;

/// <summary>A caller authenticated by API key.</summary>
internal sealed record ApiCaller(ApiKeyRow Key)
{
    public string OrgId => Key.OrgId;

    /// <summary>How approvals and grants name the person or system that acted.</summary>
    public string Name => $"{Key.Name} (key {Key.Id})";

    public void Require(params string[] roles)
    {
        if (Key.Role == Roles.Admin || Array.IndexOf(roles, Key.Role) >= 0)
        {
            return;
        }

        throw ApiException.Forbidden(ErrorCodes.RoleForbidden, $"This needs one of the roles: admin, {string.Join(", ", roles)}.");
    }
}

/// <summary>An agent authenticated by an RFC 9421 signature, with the exact body it signed.</summary>
internal sealed record AgentCaller(AgentRow Agent, AgentKeyRow Key, byte[] Body)
{
    public string OrgId => Agent.OrgId;

    /// <summary>The request's nonce (key id, nonce, expiry in Unix ms), for callers that store it with their own write.</summary>
    public (string KeyId, string Nonce, long Expires) Nonce { get; init; }

    /// <summary>The parsed signature the request was admitted with.</summary>
    public Aim.Protocol.ParsedSignature Signature { get; init; }

    /// <summary>The agent data the request was admitted on when it came from <see cref="AgentAccessCache"/> (null: read from the database now).</summary>
    public AgentAccess? Access { get; init; }
}
