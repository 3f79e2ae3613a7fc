using System.IO.Pipelines;
using System.Reflection;
using System.Security.Claims;
using Aim.Tokens;
using Aim.Tokens.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace Aim.AspNetCore;

/// <summary>What the endpoint and MVC filters share: runtime resolution, the AIP token binding, refusals as problem details.</summary>
internal static class AimHttpCall
{
    /// <summary>The runtime registered in DI (by <c>AddAim</c>), else the ambient one.</summary>
    public static AimRuntime RuntimeFor(HttpContext context) =>
        context.RequestServices.GetService<AimRuntime>() ?? AimRuntime.Current;

    /// <summary>
    /// Puts the request's AIP token (<c>X-AIP-Token</c> or <c>Authorization: AIP</c>) in scope so step 4 of the call
    /// path checks it. Returns null when the request carries none.
    /// </summary>
    /// <exception cref="AipException">Several or conflicting tokens.</exception>
    public static IDisposable? UseRequestToken(HttpRequest request)
    {
        var token = AipHttp.ReadToken(request.Headers[AipHttp.TokenHeader], request.Headers.Authorization);
        return token is null ? null : AimDelegation.Use(token);
    }

    /// <summary>A refusal the filters answer themselves (never an exception escaping to the host).</summary>
    public static IResult Refuse(HttpContext context, AimException error)
    {
        if (error is AipException aip)
        {
            return Results.Problem(statusCode: aip.HttpStatus, title: "AIP token refused", detail: aip.Message, type: AimProblemDetails.DeniedType,
                instance: context.Request.Path, extensions: new Dictionary<string, object?> { ["code"] = aip.Code });
        }

        var problem = AimProblemDetails.Create(error, context.Request.Path);
        return Results.Problem(problem);
    }

    /// <summary>
    /// Which of a handler's parameters are call arguments worth auditing (not the request plumbing:
    /// <see cref="HttpContext"/>, services, streams, cancellation). Computed once per endpoint.
    /// </summary>
    public static bool[] AuditedParameters(MethodInfo method) =>
        [.. method.GetParameters().Select(p => !IsPlumbing(p))];

    public static object?[] Arguments(IList<object?> values, bool[] audited)
    {
        var result = new object?[values.Count];
        for (int i = 0; i < values.Count; i++)
        {
            result[i] = i < audited.Length && audited[i] ? values[i] : null;
        }

        return result;
    }

    private static bool IsPlumbing(ParameterInfo parameter)
    {
        var type = parameter.ParameterType;
        if (parameter.GetCustomAttributes(inherit: true).Any(a => a is IFromServiceMetadata))
        {
            return true;
        }

        return typeof(HttpContext).IsAssignableFrom(type) || typeof(HttpRequest).IsAssignableFrom(type) || typeof(HttpResponse).IsAssignableFrom(type)
            || typeof(ClaimsPrincipal).IsAssignableFrom(type) || type == typeof(CancellationToken) || typeof(Stream).IsAssignableFrom(type)
            || typeof(PipeReader).IsAssignableFrom(type) || typeof(IServiceProvider).IsAssignableFrom(type) || typeof(IFormFile).IsAssignableFrom(type)
            || typeof(IFormFileCollection).IsAssignableFrom(type) || typeof(IFormCollection).IsAssignableFrom(type)
            || (type.Namespace?.StartsWith("Microsoft.", StringComparison.Ordinal) ?? false);
    }
}
