using System.Security.Claims;

namespace Aim.Mcp;

/// <summary>
/// The AIP token an HTTP request carried (<c>X-AIP-Token</c> or <c>Authorization: AIP</c>), attached to the request's user by
/// the HTTP front door (Aim.Mcp.AspNetCore) so the MCP SDK hands it to <see cref="AimCallToolFilter"/> with each message.
/// Only this type is read: a claim some other authentication handler issued is never taken for a token.
/// </summary>
public sealed class AipTokenIdentity : ClaimsIdentity
{
    /// <summary>The authentication type of this identity.</summary>
    public const string Type = "AIP";

    /// <summary>Creates the identity for a token read from the request's headers.</summary>
    /// <param name="token">The token as presented (compact or chained).</param>
    /// <exception cref="ArgumentException">The token is empty.</exception>
    public AipTokenIdentity(string token)
        : base(Type)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        Token = token;
    }

    /// <summary>The token as presented; it is verified by step 4 of the call path, not here.</summary>
    public string Token { get; }

    /// <summary>The token an HTTP request carried, or null when it carried none (or came over another transport).</summary>
    public static string? Of(ClaimsPrincipal? user)
    {
        string? token = null;
        foreach (var identity in user?.Identities ?? [])
        {
            if (identity is AipTokenIdentity aip)
            {
                token = aip.Token;
            }
        }

        return token;
    }
}
