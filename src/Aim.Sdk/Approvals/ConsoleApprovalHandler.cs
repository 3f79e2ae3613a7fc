using Aim.Authorization;

namespace Aim.Approvals;

/// <summary>
/// Asks the person at the terminal to approve each JIT action. When nobody can answer (input is
/// redirected or closed) it denies: an unattended run never approves by itself.
/// </summary>
public sealed class ConsoleApprovalHandler : IApprovalHandler
{
    private readonly TextReader _input;
    private readonly TextWriter _output;
    private readonly bool _interactive;
    private readonly SemaphoreSlim _prompt = new(1, 1);

    /// <summary>Uses the process console.</summary>
    public ConsoleApprovalHandler()
        : this(Console.In, Console.Out, !Console.IsInputRedirected)
    {
    }

    /// <summary>Uses the given reader and writer (for tests or other terminals).</summary>
    /// <param name="input">Where answers are read.</param>
    /// <param name="output">Where prompts are written.</param>
    /// <param name="interactive">Whether a person is there to answer.</param>
    public ConsoleApprovalHandler(TextReader input, TextWriter output, bool interactive = true)
    {
        _input = input ?? throw new ArgumentNullException(nameof(input));
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _interactive = interactive;
    }

    /// <summary>The approver name recorded in the audit log.</summary>
    public string ApproverName { get; init; } = Environment.UserName;

    /// <inheritdoc />
    public async ValueTask<ApprovalDecision> RequestApprovalAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_interactive)
        {
            return new ApprovalDecision(false, "console", "no one at the terminal to approve");
        }

        await _prompt.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var action = request.Action;
            await _output.WriteLineAsync($"Approval needed: agent '{action.Agent.Name}' wants '{action.Capability}'" +
                (action.Resource is null ? string.Empty : $" on '{action.Resource}'") +
                $" (risk {action.Risk}, {action.Method}).").ConfigureAwait(false);
            if (action.Description is not null)
            {
                await _output.WriteLineAsync("  " + action.Description).ConfigureAwait(false);
            }

            if (request.Evidence is { } evidence)
            {
                // A step-up: the approver must see why the check was not sure.
                await _output.WriteLineAsync($"  Stepped up by the {evidence["step"]} check: {evidence["reason"]}").ConfigureAwait(false);
                await _output.WriteLineAsync("  Evidence: " + evidence.ToJsonString()).ConfigureAwait(false);
            }

            await _output.WriteAsync($"Approve? [y/N] (times out in {request.Timeout.TotalSeconds:0} s) ").ConfigureAwait(false);
            await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
            string? answer = await _input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            bool approved = answer is not null && (answer.Trim().Equals("y", StringComparison.OrdinalIgnoreCase) || answer.Trim().Equals("yes", StringComparison.OrdinalIgnoreCase));
            return new ApprovalDecision(approved, ApproverName, approved ? "approved at the terminal" : "declined at the terminal");
        }
        finally
        {
            _prompt.Release();
        }
    }
}
