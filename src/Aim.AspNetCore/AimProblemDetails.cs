using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Aim.AspNetCore;

/// <summary>Maps the call path's refusals to HTTP: status codes and RFC 9457 problem details.</summary>
public static class AimProblemDetails
{
    /// <summary>The problem type URI of a refused action.</summary>
    public const string DeniedType = "https://aim.dev/problems/action-denied";

    /// <summary>The HTTP status for a refusal: 403 denied or approval timed out, 503 engine unavailable, 500 not configured.</summary>
    public static int StatusFor(AimException error) => error switch
    {
        ActionDeniedException or ApprovalTimeoutException => StatusCodes.Status403Forbidden,
        AimUnavailableException => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// The problem details for a refusal. Extensions: <c>code</c> (the exception's stable code), and for denials
    /// <c>capability</c> and <c>reason_code</c> (for example <c>capability_not_granted</c> or an <c>aip_*</c> code).
    /// </summary>
    public static ProblemDetails Create(AimException error, string? instance = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        var problem = new ProblemDetails
        {
            Status = StatusFor(error),
            Title = error switch
            {
                ActionDeniedException => "Action denied",
                ApprovalTimeoutException => "Approval timed out",
                AimUnavailableException => "Authorization unavailable",
                _ => "Authorization not configured",
            },
            Type = DeniedType,
            Detail = error is AimConfigurationException ? "The service is not configured to authorize this action." : error.Message,
            Instance = instance,
        };
        problem.Extensions["code"] = error.Code;
        if (error is ActionDeniedException denied)
        {
            problem.Extensions["capability"] = denied.Capability;
            problem.Extensions["reason_code"] = denied.ReasonCode;
        }

        return problem;
    }
}
