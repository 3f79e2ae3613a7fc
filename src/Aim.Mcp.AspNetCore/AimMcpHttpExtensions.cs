using System.Security.Claims;
using Aim.Tokens;
using Aim.Tokens.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Aim.Mcp.AspNetCore;

/// <summary>Carries the AIP token of MCP requests over HTTP to Aim's <c>tools/call</c> filter.</summary>
public static class AimMcpHttpExtensions
{
    /// <summary>
    /// For every request to these endpoints (<c>app.MapMcp("/mcp").WithAipTokens()</c>): reads the AIP token from
    /// <c>X-AIP-Token</c> or <c>Authorization: AIP &lt;token&gt;</c> and attaches it to the request's user as an
    /// <see cref="AipTokenIdentity"/>, which the MCP SDK hands to each message's handlers; the <c>tools/call</c> filter
    /// (<c>.WithAim()</c> on the MCP server builder) then puts it in scope for step 4 of the call path, which verifies it.
    /// A request with several or conflicting tokens is answered <c>401</c> with <c>{"error":{"code":"aip_token_malformed"}}</c>
    /// and never reaches the MCP server. A request without a token goes on: whether a call needs one is the filter's
    /// <see cref="AimMcpOptions.RequireToken"/> (refused <c>aip_token_missing</c>, audited).
    /// </summary>
    /// <param name="builder">The MCP endpoints (<c>MapMcp</c>'s result).</param>
    /// <returns>The builder.</returns>
    public static TBuilder WithAipTokens<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint =>
        {
            var next = endpoint.RequestDelegate ?? throw new InvalidOperationException("The endpoint has no request delegate to protect.");
            endpoint.RequestDelegate = context => HandleAsync(context, next);
        });
        return builder;
    }

    private static Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        string? token;
        try
        {
            token = AipHttp.ReadToken(context.Request.Headers[AipHttp.TokenHeader], context.Request.Headers.Authorization);
        }
        catch (AipException ex)
        {
            context.Response.StatusCode = ex.HttpStatus;
            return context.Response.WriteAsJsonAsync(new { error = new { code = ex.Code, message = ex.Message } });
        }

        // A token claimed by an earlier handler's identity is never trusted: only the one read here is attached.
        var user = new ClaimsPrincipal(context.User.Identities.Where(i => i is not AipTokenIdentity));
        if (token is not null)
        {
            user.AddIdentity(new AipTokenIdentity(token));
        }

        context.User = user;
        return next(context);
    }
}
