using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Aim.Tokens.AspNetCore;

/// <summary>Registration of AIP authentication for ASP.NET Core.</summary>
public static class AipAuthenticationExtensions
{
    /// <summary>
    /// Adds the AIP authentication scheme (the default scheme when none is set) and the <c>aip_scope</c> requirement
    /// handler. Configure the trusted roots through <see cref="AipAuthenticationOptions.Verification"/>.
    /// </summary>
    public static AuthenticationBuilder AddAipAuthentication(this IServiceCollection services, Action<AipAuthenticationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddAuthorization();
        services.AddSingleton<IAuthorizationHandler, AipScopeRequirementHandler>();
        return services.AddAuthentication(AipAuthenticationDefaults.Scheme)
            .AddScheme<AipAuthenticationOptions, AipAuthenticationHandler>(AipAuthenticationDefaults.Scheme, configure ?? (_ => { }));
    }

    /// <summary>
    /// Requires a valid AIP token whose scopes allow <paramref name="scope"/> (a tool or capability name); refusals answer
    /// 401 (no or bad token) or 403 <c>aip_scope_insufficient</c>.
    /// </summary>
    public static TBuilder RequireAipScope<TBuilder>(this TBuilder builder, string scope)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scope);
        return builder.RequireAuthorization(policy => policy
            .AddAuthenticationSchemes(AipAuthenticationDefaults.Scheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new AipScopeRequirement(scope)));
    }

    /// <summary>
    /// Runs the rest of the pipeline under the request's verified AIP token (<see cref="AimDelegation.Use"/>), so secured
    /// actions called while handling the request are checked against it (step 4) and outgoing calls carry it on.
    /// Place after <c>UseAuthentication()</c>.
    /// </summary>
    public static IApplicationBuilder UseAipDelegation(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(async (context, next) =>
        {
            if (context.Items[AipAuthenticationDefaults.TokenItem] is not string token)
            {
                var result = await context.AuthenticateAsync(AipAuthenticationDefaults.Scheme).ConfigureAwait(false);
                token = result.Succeeded ? context.Items[AipAuthenticationDefaults.TokenItem] as string ?? string.Empty : string.Empty;
            }

            if (token.Length == 0)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            using (AimDelegation.Use(token))
            {
                await next(context).ConfigureAwait(false);
            }
        });
    }
}

/// <summary>The token must allow a scope.</summary>
/// <param name="Scope">The tool or capability.</param>
public sealed record AipScopeRequirement(string Scope) : IAuthorizationRequirement;

/// <summary>Checks <see cref="AipScopeRequirement"/> against the principal's <c>aip_scope</c> claims (patterns included).</summary>
public sealed class AipScopeRequirementHandler : AuthorizationHandler<AipScopeRequirement>
{
    /// <inheritdoc/>
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AipScopeRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requirement);
        var scopes = context.User.FindAll(AipAuthenticationDefaults.ScopeClaim).Select(c => c.Value).ToList();
        if (AipScope.AnyAllows(scopes, requirement.Scope))
        {
            context.Succeed(requirement);
        }
        else if (context.Resource is HttpContext http && context.User.Identity?.IsAuthenticated == true)
        {
            http.Items["aip_error"] = new AipException(AipErrorCodes.ScopeInsufficient, $"The token does not allow '{requirement.Scope}'.");
        }

        return Task.CompletedTask;
    }
}
