using Microsoft.Extensions.AI;

namespace Aim.AI;

/// <summary>
/// An <see cref="AIFunction"/> whose every invocation runs Aim's call path: the inner function runs only after
/// <see cref="AimRuntime"/> authorized the action (and a human approved it when required), and the call is signed
/// and audited. A denied call throws and never reaches the inner function.
/// </summary>
/// <remarks>
/// Chat clients that invoke tools (for example <c>FunctionInvokingChatClient</c>) surface the exception to the model
/// as a failed tool call unless configured to rethrow; either way the body did not run.
/// </remarks>
public sealed class SecuredAIFunction : DelegatingAIFunction
{
    private readonly AimRuntime? _runtime;

    /// <summary>Wraps <paramref name="innerFunction"/> with the action it performs.</summary>
    /// <param name="innerFunction">The function to protect.</param>
    /// <param name="action">The action the function performs (usually from the generated catalog).</param>
    /// <param name="runtime">The runtime to use; null to use <see cref="AimRuntime.Current"/> at call time.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerFunction"/> or <paramref name="action"/> is null.</exception>
    public SecuredAIFunction(AIFunction innerFunction, ActionDescriptor action, AimRuntime? runtime = null)
        : base(innerFunction)
    {
        ArgumentNullException.ThrowIfNull(action);
        Action = action;
        _runtime = runtime;
    }

    /// <summary>The action every call is authorized as.</summary>
    public ActionDescriptor Action { get; }

    /// <inheritdoc/>
    /// <exception cref="ActionDeniedException">The action was not authorized; the inner function did not run.</exception>
    /// <exception cref="ApprovalTimeoutException">No approval in time; the inner function did not run.</exception>
    /// <exception cref="AimUnavailableException">The engine or audit log is unavailable; the inner function did not run.</exception>
    /// <exception cref="AimConfigurationException">No runtime is configured; the inner function did not run.</exception>
    protected override ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var runtime = _runtime ?? AimRuntime.Current;
        return runtime.InvokeValueTaskAsync(
            Action,
            ActionResolver.OrderArguments(Action, arguments),
            () => base.InvokeCoreAsync(arguments, cancellationToken),
            cancellationToken);
    }
}
