using Aim.Capabilities;
using Aim.Identity;

namespace Aim.Policy;

/// <summary>
/// What the embedded engine allows one agent to do: capability grants (with optional resource
/// patterns), required attributes (ABAC), time windows, rate limits and a budget. Immutable; build it
/// with <see cref="Builder"/> or load it with <see cref="AgentPolicySet"/>. The check methods are pure:
/// they read only their arguments and the policy.
/// </summary>
public sealed class AgentPolicy
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> NoAttributes =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    private AgentPolicy(
        string agent,
        IReadOnlyList<CapabilityGrant> grants,
        IReadOnlyDictionary<string, IReadOnlyList<string>> requiredAttributes,
        IReadOnlyList<TimeWindow> timeWindows,
        IReadOnlyList<RateLimitRule> rateLimits,
        BudgetLimit? budget,
        IntentPolicy? intent)
    {
        Agent = agent;
        Grants = grants;
        RequiredAttributes = requiredAttributes;
        TimeWindows = timeWindows;
        RateLimits = rateLimits;
        Budget = budget;
        Intent = intent;
    }

    /// <summary>The agent's (normalized, lower-case) name.</summary>
    public string Agent { get; }

    /// <summary>The grants; an action is allowed when one covers its capability and resource.</summary>
    public IReadOnlyList<CapabilityGrant> Grants { get; }

    /// <summary>Attributes the runtime must supply: each key with one of its accepted values (ordinal comparison).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> RequiredAttributes { get; }

    /// <summary>When the agent may act; empty means always.</summary>
    public IReadOnlyList<TimeWindow> TimeWindows { get; }

    /// <summary>Rate limits, enforced by <see cref="Aim.Policy.RateLimiter"/>.</summary>
    public IReadOnlyList<RateLimitRule> RateLimits { get; }

    /// <summary>The spending limit, if any.</summary>
    public BudgetLimit? Budget { get; }

    /// <summary>The agent's own step-5 thresholds per risk level, or null for the intent check's defaults.</summary>
    public IntentPolicy? Intent { get; }

    /// <summary>A policy that grants nothing (what an agent missing from a policy file gets).</summary>
    /// <exception cref="KeyStoreException">The agent name is invalid.</exception>
    public static AgentPolicy DenyAll(string agent) => new Builder(agent).Build();

    /// <summary>Step 1: is the capability (and the resource, when the action names one) granted?</summary>
    /// <returns>Allowed; or <c>capability_not_granted</c>; or <c>resource_not_granted</c> when a grant covers the capability but not the resource.</returns>
    public PolicyDecision CheckCapability(Capability capability, string? resource)
    {
        ArgumentNullException.ThrowIfNull(capability);
        bool capabilityCovered = false;
        for (int i = 0; i < Grants.Count; i++)
        {
            var grant = Grants[i];
            if (!grant.Matches(capability))
            {
                continue;
            }

            if (grant.CoversResource(resource))
            {
                return PolicyDecision.Allow;
            }

            capabilityCovered = true;
        }

        if (capabilityCovered)
        {
            return PolicyDecision.Deny(
                PolicyReasonCodes.ResourceNotGranted,
                resource is null
                    ? $"Agent '{Agent}' holds '{capability}' only for named resources, and the action names none."
                    : $"Agent '{Agent}' holds '{capability}' but not for resource '{Capability.Quote(resource)}'.");
        }

        return PolicyDecision.Deny(PolicyReasonCodes.CapabilityNotGranted, $"Agent '{Agent}' has no grant for '{capability}'.");
    }

    /// <summary>Step 2: do the supplied attributes satisfy every required attribute?</summary>
    /// <returns>Allowed, or <c>attribute_mismatch</c> naming the first attribute that is missing or different.</returns>
    public PolicyDecision CheckAttributes(IReadOnlyDictionary<string, string> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        foreach (var (key, accepted) in RequiredAttributes)
        {
            if (!attributes.TryGetValue(key, out var actual) || actual is null)
            {
                return PolicyDecision.Deny(PolicyReasonCodes.AttributeMismatch, $"Agent '{Agent}' requires attribute '{key}', which is not set.");
            }

            if (!accepted.Contains(actual, StringComparer.Ordinal))
            {
                return PolicyDecision.Deny(
                    PolicyReasonCodes.AttributeMismatch,
                    $"Agent '{Agent}' requires {key}={string.Join(" or ", accepted)}, got '{Capability.Quote(actual)}'.");
            }
        }

        return PolicyDecision.Allow;
    }

    /// <summary>Step 3 (time): is <paramref name="now"/> inside one of the windows (always, when there are none)?</summary>
    /// <returns>Allowed, or <c>outside_time_window</c>.</returns>
    public PolicyDecision CheckTimeWindow(DateTimeOffset now)
    {
        if (TimeWindows.Count == 0)
        {
            return PolicyDecision.Allow;
        }

        foreach (var window in TimeWindows)
        {
            if (window.Contains(now))
            {
                return PolicyDecision.Allow;
            }
        }

        return PolicyDecision.Deny(
            PolicyReasonCodes.OutsideTimeWindow,
            $"Agent '{Agent}' may act only {string.Join("; ", TimeWindows)}; it is {now.UtcDateTime:ddd HH:mm} UTC.");
    }

    /// <summary>Step 3 (budget): would spending <paramref name="costUsd"/> on top of <paramref name="spentUsd"/> stay within the budget?</summary>
    /// <returns>Allowed (also when there is no budget), or <c>budget_exceeded</c>.</returns>
    public PolicyDecision CheckBudget(decimal spentUsd, decimal costUsd)
    {
        if (Budget is null)
        {
            return PolicyDecision.Allow;
        }

        if (costUsd < 0 || spentUsd < 0)
        {
            return PolicyDecision.Deny(PolicyReasonCodes.BudgetExceeded, "A negative cost or spend is not accepted.");
        }

        return spentUsd + costUsd <= Budget.LimitUsd
            ? PolicyDecision.Allow
            : PolicyDecision.Deny(
                PolicyReasonCodes.BudgetExceeded,
                $"Agent '{Agent}' has spent ${spentUsd} of its ${Budget.LimitUsd} budget; ${costUsd} more would exceed it.");
    }

    /// <summary>Builds an <see cref="AgentPolicy"/> in code.</summary>
    /// <example><code>
    /// var policy = new AgentPolicy.Builder("support-agent")
    ///     .Grant("db:read@users_*", "email:send")
    ///     .RequireAttribute("environment", "prod")
    ///     .AllowDuring([DayOfWeek.Monday, DayOfWeek.Friday], 9, 17)
    ///     .RateLimit("email:send", 10, TimeSpan.FromMinutes(1))
    ///     .Budget(50m)
    ///     .Build();
    /// </code></example>
    public sealed class Builder
    {
        private readonly string _agent;
        private readonly List<CapabilityGrant> _grants = [];
        private readonly Dictionary<string, IReadOnlyList<string>> _attributes = new(StringComparer.Ordinal);
        private readonly List<TimeWindow> _windows = [];
        private readonly List<RateLimitRule> _rateLimits = [];
        private BudgetLimit? _budget;
        private IntentPolicy? _intent;

        /// <summary>Starts a policy for an agent.</summary>
        /// <exception cref="KeyStoreException">Code <c>aim_keystore_name_invalid</c>: the agent name is invalid.</exception>
        public Builder(string agent)
        {
            _agent = AgentName.Normalize(agent);
        }

        /// <summary>Adds grants in string form (<c>db:read</c>, <c>db:*</c>, <c>db:read@users_*</c>, <c>*</c>).</summary>
        /// <exception cref="PolicyFormatException">A grant is malformed.</exception>
        public Builder Grant(params IEnumerable<string> grants)
        {
            ArgumentNullException.ThrowIfNull(grants);
            foreach (var grant in grants)
            {
                try
                {
                    _grants.Add(CapabilityGrant.Parse(grant));
                }
                catch (CapabilityFormatException ex)
                {
                    throw new PolicyFormatException(null, null, ex.Message, ex);
                }
            }

            return this;
        }

        /// <summary>Adds a parsed grant.</summary>
        public Builder Grant(CapabilityGrant grant)
        {
            ArgumentNullException.ThrowIfNull(grant);
            _grants.Add(grant);
            return this;
        }

        /// <summary>Requires an attribute to have one of the given values.</summary>
        /// <exception cref="PolicyFormatException">The key is empty or no value is given.</exception>
        public Builder RequireAttribute(string key, params IEnumerable<string> acceptedValues)
        {
            ArgumentNullException.ThrowIfNull(acceptedValues);
            var values = acceptedValues.ToArray();
            if (string.IsNullOrEmpty(key))
            {
                throw new PolicyFormatException(null, null, "An attribute key must not be empty.");
            }

            if (values.Length == 0 || values.Any(static v => v is null))
            {
                throw new PolicyFormatException(null, null, $"Attribute '{key}' needs at least one accepted value, and no null.");
            }

            _attributes[key] = values;
            return this;
        }

        /// <summary>Adds a time window (days empty: every day; hours in UTC).</summary>
        /// <exception cref="PolicyFormatException">The window is invalid.</exception>
        public Builder AllowDuring(IEnumerable<DayOfWeek> days, int startHour, int endHour)
        {
            _windows.Add(new TimeWindow(days, startHour, endHour));
            return this;
        }

        /// <summary>Adds a time window.</summary>
        public Builder AllowDuring(TimeWindow window)
        {
            ArgumentNullException.ThrowIfNull(window);
            _windows.Add(window);
            return this;
        }

        /// <summary>Adds a rate limit of <paramref name="limit"/> calls per <paramref name="per"/> for capabilities matching the pattern.</summary>
        /// <exception cref="PolicyFormatException">The rule is invalid.</exception>
        public Builder RateLimit(string capabilityPattern, int limit, TimeSpan per)
        {
            _rateLimits.Add(new RateLimitRule(capabilityPattern, limit, per));
            return this;
        }

        /// <summary>Sets the budget in US dollars, optionally per fixed period.</summary>
        /// <exception cref="PolicyFormatException">The budget is invalid.</exception>
        public Builder Budget(decimal limitUsd, TimeSpan? per = null)
        {
            _budget = new BudgetLimit(limitUsd, per);
            return this;
        }

        /// <summary>Sets the agent's step-5 thresholds per risk level.</summary>
        /// <exception cref="PolicyFormatException">A cut point is outside 0..1, or a deny point is below its step-up point.</exception>
        public Builder IntentThresholds(IntentPolicy intent)
        {
            ArgumentNullException.ThrowIfNull(intent);
            foreach (var (level, points) in new[] { ("high", intent.High), ("critical", intent.Critical) })
            {
                if (points is not null && (points.StepUpAt is < 0 or > 1 || points.DenyAt is < 0 or > 1 || points.DenyAt < points.StepUpAt
                    || double.IsNaN(points.StepUpAt) || double.IsNaN(points.DenyAt)))
                {
                    throw new PolicyFormatException(null, null, $"Intent cut points for {level} are 0..1 with denyAt at least stepUpAt, got {points.StepUpAt} / {points.DenyAt}.");
                }
            }

            _intent = intent;
            return this;
        }

        /// <summary>
        /// Adds everything <paramref name="other"/> holds (grants, attributes, windows, rate limits) and its
        /// budget when it has one; for example a policy file's entry merged with grants given in code.
        /// </summary>
        public Builder Include(AgentPolicy other)
        {
            ArgumentNullException.ThrowIfNull(other);
            _grants.AddRange(other.Grants);
            foreach (var (key, values) in other.RequiredAttributes)
            {
                _attributes[key] = values;
            }

            _windows.AddRange(other.TimeWindows);
            _rateLimits.AddRange(other.RateLimits);
            _budget = other.Budget ?? _budget;
            _intent = other.Intent ?? _intent;
            return this;
        }

        /// <summary>Creates the immutable policy.</summary>
        public AgentPolicy Build() => new(
            _agent,
            _grants.ToArray(),
            _attributes.Count == 0 ? NoAttributes : new Dictionary<string, IReadOnlyList<string>>(_attributes, StringComparer.Ordinal),
            _windows.ToArray(),
            _rateLimits.ToArray(),
            _budget,
            _intent);
    }
}
