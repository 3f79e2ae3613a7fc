using Aim.Audit;
using Aim.Authorization;
using Aim.Identity;

namespace Aim.Engine;

/// <summary>
/// Where decisions are made and records kept: the embedded engine (local policy, local signed log)
/// or the Aim server. <see cref="AimRuntime"/> runs the same call path over either.
/// </summary>
public interface IAimEngine : IAsyncDisposable
{
    /// <summary>The identity of the agent this engine acts for.</summary>
    AgentIdentity Agent { get; }

    /// <summary>Runs the authorization steps (and JIT approval) for one action. Throws only when the engine itself fails.</summary>
    ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Signs and records an audit record. When <paramref name="waitForDurable"/> is true the returned task completes only
    /// once the record is durably stored; otherwise it may complete as soon as the record is queued.
    /// </summary>
    /// <exception cref="AimUnavailableException">The record could not be stored.</exception>
    ValueTask RecordAsync(AuditRecord record, bool waitForDurable, CancellationToken cancellationToken);
}
