using Aim.Authorization;

namespace Aim.Approvals;

/// <summary>An approval handler backed by a callback: the programmatic way to decide JIT approvals (tests, custom UIs).</summary>
public sealed class DelegateApprovalHandler : IApprovalHandler
{
    private readonly Func<ApprovalRequest, CancellationToken, ValueTask<ApprovalDecision>> _decide;

    /// <summary>Creates the handler.</summary>
    public DelegateApprovalHandler(Func<ApprovalRequest, CancellationToken, ValueTask<ApprovalDecision>> decide)
    {
        _decide = decide ?? throw new ArgumentNullException(nameof(decide));
    }

    /// <summary>Creates a handler from a synchronous callback.</summary>
    public DelegateApprovalHandler(Func<ApprovalRequest, ApprovalDecision> decide)
    {
        ArgumentNullException.ThrowIfNull(decide);
        _decide = (request, _) => ValueTask.FromResult(decide(request));
    }

    /// <inheritdoc />
    public ValueTask<ApprovalDecision> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken) =>
        _decide(request, cancellationToken);
}
