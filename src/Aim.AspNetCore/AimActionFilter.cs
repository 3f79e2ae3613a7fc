using System.Collections.Concurrent;
using Aim.Tokens;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.DependencyInjection;

namespace Aim.AspNetCore;

/// <summary>
/// MVC support: runs every controller action that carries <c>[SecureAction]</c> through <see cref="AimRuntime"/>
/// (authorize before model-bound arguments reach the action, record the outcome after). A refused call short-circuits
/// with 403 problem details and the action method never runs. Register with <see cref="AimMvcBuilderExtensions.AddAim"/>.
/// </summary>
public sealed class AimActionFilter : IAsyncActionFilter
{
    // Resolved once per controller action (reflection at first use only, never per request).
    private readonly ConcurrentDictionary<string, Resolved?> _actions = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public async Task OnActionExecutionAsync(ActionExecutingContext context, ActionExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (context.ActionDescriptor is not ControllerActionDescriptor controller)
        {
            await next().ConfigureAwait(false);
            return;
        }

        var resolved = _actions.GetOrAdd(controller.Id, _ => ActionResolver.Resolve(controller.MethodInfo) switch
        {
            { Action: { } a } => new Resolved(a, [.. controller.MethodInfo.GetParameters().Select(p => p.Name ?? string.Empty)], null),
            { Kind: ActionResolutionKind.Unresolvable } unresolvable => new Resolved(null, [], unresolvable.Refusal(controller.MethodInfo.Name)),
            _ => null,
        });
        if (resolved is null)
        {
            await next().ConfigureAwait(false);
            return;
        }

        if (resolved.Action is null)
        {
            // Secured but not resolvable: refused, never passed through.
            context.Result = ToResult(context.HttpContext.Request.Path, resolved.Refusal!);
            return;
        }

        var http = context.HttpContext;
        IDisposable? token;
        try
        {
            token = AimHttpCall.UseRequestToken(http.Request);
        }
        catch (AipException ex)
        {
            context.Result = ToResult(http.Request.Path, ex);
            return;
        }

        using (token)
        {
            var arguments = new object?[resolved.Parameters.Length];
            for (int i = 0; i < arguments.Length; i++)
            {
                arguments[i] = context.ActionArguments.TryGetValue(resolved.Parameters[i], out var value) ? value : null;
            }

            ActionScope scope;
            try
            {
                scope = await AimHttpCall.RuntimeFor(http).BeginActionAsync(resolved.Action, arguments, http.RequestAborted).ConfigureAwait(false);
            }
            catch (AimException ex) when (ex is ActionDeniedException or ApprovalTimeoutException or AimUnavailableException or AimConfigurationException)
            {
                context.Result = ToResult(http.Request.Path, ex);
                return;
            }

            using (scope)
            {
                var executed = await next().ConfigureAwait(false);
                if (executed.Exception is { } error && !executed.ExceptionHandled)
                {
                    scope.Fail(error);
                }
                else
                {
                    scope.Complete((executed.Result as ObjectResult)?.Value);
                }
            }
        }
    }

    private static ObjectResult ToResult(string path, AimException error)
    {
        var problem = error is AipException aip
            ? new ProblemDetails { Status = aip.HttpStatus, Title = "AIP token refused", Detail = aip.Message, Type = AimProblemDetails.DeniedType, Instance = path, Extensions = { ["code"] = aip.Code } }
            : AimProblemDetails.Create(error, path);
        return new ObjectResult(problem) { StatusCode = problem.Status, ContentTypes = { "application/problem+json" } };
    }

    private sealed record Resolved(ActionDescriptor? Action, string[] Parameters, ActionDeniedException? Refusal);
}

/// <summary>Registers <see cref="AimActionFilter"/> for every MVC controller action.</summary>
public static class AimMvcBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="AimActionFilter"/> as a global filter: controller actions with <c>[SecureAction]</c> run Aim's call
    /// path. Register the runtime itself with <c>services.AddAim(...)</c>.
    /// </summary>
    public static IMvcBuilder AddAim(this IMvcBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<AimActionFilter>();
        builder.AddMvcOptions(o => o.Filters.AddService<AimActionFilter>());
        return builder;
    }
}
