using Aim.Policy;
using Aim.Authorization;

namespace Aim;

/// <summary>
/// Configuration of an agent's runtime. With no <see cref="ServerUrl"/> the embedded engine decides
/// locally from the grants given here (or a policy file) and keeps a signed audit log under <see cref="Home"/>.
/// </summary>
public sealed class AimOptions
{
    private readonly List<string> _grants = [];
    private readonly List<RateLimitOption> _rateLimits = [];

    /// <summary>The agent's name: selects (or creates) its key in the key store.</summary>
    public string AgentName { get; set; } = string.Empty;

    /// <summary>The Aim server to use instead of the embedded engine.</summary>
    public Uri? ServerUrl { get; set; }

    /// <summary>The API key for the Aim server.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// With a <see cref="ServerUrl"/>: send the action's text (description, parameter names and formatted argument values)
    /// with medium, high and critical verifications, so the server's step 5 (the intent check) can read it. Off by default:
    /// argument values then never leave the agent, and the server skips step 5 for its actions.
    /// </summary>
    public bool ShareActionText { get; set; }

    /// <summary>The key store and data directory; defaults to <c>AIM_HOME</c>, then <c>~/.aim</c>.</summary>
    public string? Home { get; set; }

    /// <summary>A JSON policy file with grants, rate limits and time windows for the embedded engine.</summary>
    public string? PolicyFile { get; set; }

    /// <summary>The audit log file; defaults to <c>&lt;Home&gt;/audit/&lt;agent&gt;.db</c>.</summary>
    public string? AuditLogPath { get; set; }

    /// <summary>
    /// Options for the embedded engine's audit log (group-commit window, batch size, tree-head interval); null uses
    /// <see cref="Aim.Audit.AuditLogOptions"/>'s defaults. Ignored by the remote engine.
    /// </summary>
    public Aim.Audit.AuditLogOptions? AuditLogOptions { get; set; }

    /// <summary>Decides JIT approvals in the embedded engine. With none, actions that need approval are denied.</summary>
    public IApprovalHandler? ApprovalHandler { get; set; }

    /// <summary>Step 5: the intent check, called for medium, high and critical actions (none by default).</summary>
    public IIntentCheck? IntentCheck { get; set; }

    /// <summary>Step 4: verifies delegation tokens. With none, an action under a delegation token is denied (it cannot be verified).</summary>
    public IChainCheck? ChainCheck { get; set; }

    /// <summary>Attributes of this agent's environment (for example <c>environment=prod</c>) for attribute-based checks.</summary>
    public IDictionary<string, string> Attributes { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Hosts the agent may reach; an empty list means outbound traffic is not restricted (the trust score reflects it).</summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>
    /// From which risk level the "authorized" audit entry must be durably committed before the body runs
    /// (default <see cref="RiskLevel.High"/>; JIT actions always wait). Lower levels are queued to the
    /// group-commit writer, which commits within milliseconds; set <see cref="RiskLevel.Low"/> to make every
    /// action wait for its durable trace, at the cost of one commit per call.
    /// </summary>
    public RiskLevel DurableAuditFrom { get; set; } = RiskLevel.High;

    /// <summary>The clock. Tests pass their own.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The grants given with <see cref="Grant"/>.</summary>
    public IReadOnlyList<string> Grants => _grants;

    /// <summary>The rate limits given with <see cref="RateLimit"/>.</summary>
    public IReadOnlyList<RateLimitOption> RateLimits => _rateLimits;

    /// <summary>
    /// Grants capabilities to the agent in the embedded engine: <c>db:read</c>, wildcards such as <c>db:*</c>,
    /// and an optional resource pattern after <c>@</c> (<c>db:read@users_*</c>).
    /// </summary>
    /// <returns>These options, for chaining.</returns>
    public AimOptions Grant(params string[] capabilities)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        foreach (var capability in capabilities)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(capability);
            _grants.Add(capability);
        }

        return this;
    }

    /// <summary>Limits how often actions matching <paramref name="capabilityPattern"/> may run.</summary>
    /// <returns>These options, for chaining.</returns>
    public AimOptions RateLimit(string capabilityPattern, int limit, TimeSpan per)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(capabilityPattern);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(per, TimeSpan.Zero);
        _rateLimits.Add(new RateLimitOption(capabilityPattern, limit, per));
        return this;
    }

    /// <summary>The spending limit set with <see cref="Budget"/> (overrides the policy file's), or null.</summary>
    public BudgetLimit? BudgetLimit { get; private set; }

    /// <summary>
    /// Limits what the agent may spend in the embedded engine: every allowed call of an action with a
    /// <see cref="SecureActionAttribute.CostUsd"/> is charged, and a call that would exceed the limit is denied with
    /// <c>budget_exceeded</c> before its body runs. Spending is replayed from the signed audit log at start, so a
    /// restart does not reset it.
    /// </summary>
    /// <param name="limitUsd">The limit in US dollars.</param>
    /// <param name="per">The period after which spending starts again from zero (fixed windows from the Unix epoch); null for a lifetime limit.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The limit is negative or the period is not positive.</exception>
    public AimOptions Budget(decimal limitUsd, TimeSpan? per = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limitUsd);
        if (per is { } p)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(p, TimeSpan.Zero);
        }

        BudgetLimit = new BudgetLimit(limitUsd, per);
        return this;
    }
}

/// <summary>A rate limit: at most <paramref name="Limit"/> calls of matching actions per <paramref name="Per"/>.</summary>
/// <param name="CapabilityPattern">A grant-style pattern (<c>email:send</c>, <c>email:*</c>).</param>
/// <param name="Limit">Calls allowed in each period.</param>
/// <param name="Per">The period.</param>
public sealed record RateLimitOption(string CapabilityPattern, int Limit, TimeSpan Per);
