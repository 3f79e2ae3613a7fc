using System.Reflection;
using Aim.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Aim.AspNetCore;

/// <summary>
/// Minimal API support: <c>app.MapPost(...).WithAim()</c> (or on a route group) runs each call of a
/// <c>[SecureAction]</c> handler through <see cref="AimRuntime"/>. A refused call answers 403 with problem details
/// (503 when the engine is unavailable) and never runs the handler.
/// </summary>
public static class AimEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Secures the endpoints built by <paramref name="builder"/>: each handler's action is <paramref name="action"/> when
    /// given, else its <c>[SecureAction]</c> (from the generated catalog). Handlers without one are left as they are.
    /// The request's AIP token (<c>X-AIP-Token</c> or <c>Authorization: AIP</c>) is put in scope for step 4.
    /// </summary>
    /// <param name="builder">An endpoint or route group builder.</param>
    /// <param name="action">The action for every endpoint of the builder, overriding attributes.</param>
    public static TBuilder WithAim<TBuilder>(this TBuilder builder, ActionDescriptor? action = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddEndpointFilterFactory((factoryContext, next) =>
        {
            var secured = action;
            if (secured is null)
            {
                var resolution = ActionResolver.Resolve(factoryContext.MethodInfo);
                if (resolution.Kind == ActionResolutionKind.Unresolvable)
                {
                    // Secured but not resolvable: refused on every call, never passed through.
                    var refusal = resolution.Refusal(factoryContext.MethodInfo.Name);
                    return invocation => ValueTask.FromResult<object?>(AimHttpCall.Refuse(invocation.HttpContext, refusal));
                }

                if (resolution.Action is null)
                {
                    return next;
                }

                secured = resolution.Action;
            }

            var audited = AimHttpCall.AuditedParameters(factoryContext.MethodInfo);
            return invocation => InvokeAsync(invocation, secured, audited, next);
        });
        return builder;
    }

    private static async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, ActionDescriptor action, bool[] audited, EndpointFilterDelegate next)
    {
        var http = invocation.HttpContext;
        IDisposable? token;
        try
        {
            token = AimHttpCall.UseRequestToken(http.Request);
        }
        catch (AipException ex)
        {
            return AimHttpCall.Refuse(http, ex);
        }

        using (token)
        {
            try
            {
                return await AimHttpCall.RuntimeFor(http).InvokeValueTaskAsync(
                    action, AimHttpCall.Arguments(invocation.Arguments, audited), () => next(invocation), http.RequestAborted).ConfigureAwait(false);
            }
            catch (AimException ex) when (ex is ActionDeniedException or ApprovalTimeoutException or AimUnavailableException or AimConfigurationException)
            {
                // Only refusals of the call path are answered here; an AimException thrown by the handler itself propagates.
                return AimHttpCall.Refuse(http, ex);
            }
        }
    }
}
