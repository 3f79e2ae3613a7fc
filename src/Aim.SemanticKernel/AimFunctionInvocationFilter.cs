using Microsoft.SemanticKernel;

namespace Aim.SemanticKernel;

/// <summary>
/// Runs every kernel function whose method carries <c>[SecureAction]</c> through Aim's call path (authorize, approve, run,
/// sign, audit) when the kernel invokes it: <c>kernel.InvokeAsync</c>, prompt templates that call functions, and automatic
/// function calling through the kernel. A refused call throws from the invocation and the function never runs.
/// </summary>
/// <remarks>
/// The action comes from the one resolver (<see cref="ActionResolver"/>) on <see cref="KernelFunction.UnderlyingMethod"/>:
/// overloads and methods of generic types resolve to their own action; a secured method whose action cannot be resolved is
/// refused (<c>action_unresolvable</c>), never passed through. Functions with no <c>[SecureAction]</c> (prompt functions,
/// helpers) run unchanged unless <see cref="AimKernelOptions.Functions"/> maps them to an action. SK does not run kernel
/// filters when a <see cref="KernelFunction"/> is invoked as a plain <c>AIFunction</c>: guard that path with
/// <see cref="AimKernelExtensions.WithAim(KernelPlugin, Kernel, AimKernelOptions?)"/>.
/// </remarks>
public sealed class AimFunctionInvocationFilter : IFunctionInvocationFilter
{
    private readonly AimKernelOptions _options;

    /// <summary>Creates the filter.</summary>
    /// <param name="options">Mappings and the runtime; null for the defaults (<see cref="AimRuntime.Current"/> at call time).</param>
    public AimFunctionInvocationFilter(AimKernelOptions? options = null)
    {
        _options = options ?? new AimKernelOptions();
    }

    /// <inheritdoc/>
    /// <exception cref="ActionDeniedException">The action was not authorized, or its action cannot be resolved; the function did not run.</exception>
    /// <exception cref="ApprovalTimeoutException">No approval in time; the function did not run.</exception>
    /// <exception cref="AimUnavailableException">The engine or audit log is unavailable; the function did not run.</exception>
    /// <exception cref="AimConfigurationException">No runtime is configured; the function did not run.</exception>
    public async Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (KernelActions.Resolve(context.Function, _options) is not { } action)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var runtime = _options.Runtime ?? AimRuntime.Current;
        await runtime.InvokeAsync(action, ActionResolver.OrderArguments(action, context.Arguments), () => next(context), context.CancellationToken)
            .ConfigureAwait(false);
    }
}
