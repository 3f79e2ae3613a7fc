namespace Aim;

/// <summary>
/// An authorized action whose body the caller runs itself (see <see cref="AimRuntime.BeginActionAsync"/>).
/// Report exactly one outcome; disposing without one records a cancelled outcome.
/// </summary>
public sealed class ActionScope : IDisposable
{
    private readonly AimRuntime _runtime;
    private readonly AimRuntime.ActionTicket _ticket;
    private int _completed;

    internal ActionScope(AimRuntime runtime, AimRuntime.ActionTicket ticket)
    {
        _runtime = runtime;
        _ticket = ticket;
    }

    /// <summary>The id shared by this action's audit entries.</summary>
    public string ActionId => _ticket.Request.ActionId;

    /// <summary>Records a successful outcome (with the result, when the action logs results).</summary>
    public void Complete(object? result = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _runtime.Complete(_ticket, null, result, hasResult: result is not null);
        }
    }

    /// <summary>Records a failed outcome.</summary>
    public void Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _runtime.Complete(_ticket, error, null, hasResult: false);
        }
    }

    /// <summary>Records a cancelled outcome unless one was reported.</summary>
    public void Dispose() => Fail(new OperationCanceledException("The action scope ended without an outcome."));
}
