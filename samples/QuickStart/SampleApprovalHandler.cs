using Aim.Approvals;
using Aim.Authorization;

namespace QuickStart;

/// <summary>
/// The sample's approver: asks at the terminal when someone is there; in an unattended run (input
/// redirected, as in CI) it approves and says so. The library's own default, with no handler, denies.
/// </summary>
public sealed class SampleApprovalHandler : IApprovalHandler
{
    private readonly ConsoleApprovalHandler _console = new();

    public ValueTask<ApprovalDecision> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        if (!Console.IsInputRedirected)
        {
            return _console.RequestApprovalAsync(request, cancellationToken);
        }

        Console.WriteLine($"  (unattended run: the sample approves '{request.Action.Capability}' by itself; a real deployment asks a person)");
        return ValueTask.FromResult(new ApprovalDecision(true, "quickstart-unattended", "auto-approved by the sample in an unattended run"));
    }
}
