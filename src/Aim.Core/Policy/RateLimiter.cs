using Aim.Capabilities;
using Aim.Identity;

namespace Aim.Policy;

/// <summary>
/// Enforces the <see cref="AgentPolicy.RateLimits"/> of a set of agents with exact sliding windows:
/// a call is allowed when fewer than <c>limit</c> calls matched the same rule in the last <c>per</c>.
/// Thread-safe; time comes from the caller (a <see cref="TimeProvider"/> in the runtime), so tests
/// control it. A call counts against every rule it matches, and only when all of them have room.
/// </summary>
public sealed class RateLimiter
{
    private readonly Dictionary<string, AgentWindows> _agents = new(StringComparer.Ordinal);

    /// <summary>Creates a limiter for the given policies.</summary>
    public RateLimiter(IEnumerable<AgentPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        foreach (var policy in policies)
        {
            if (policy.RateLimits.Count > 0)
            {
                _agents[policy.Agent] = new AgentWindows(policy.RateLimits);
            }
        }
    }

    /// <summary>Creates a limiter for every agent of a policy set.</summary>
    public RateLimiter(AgentPolicySet policies)
        : this((policies ?? throw new ArgumentNullException(nameof(policies))).Agents.Values)
    {
    }

    /// <summary>Creates a limiter for one agent.</summary>
    public RateLimiter(AgentPolicy policy)
        : this([policy ?? throw new ArgumentNullException(nameof(policy))])
    {
    }

    /// <summary>
    /// Takes one call of <paramref name="capability"/> for <paramref name="agent"/> at <paramref name="now"/>,
    /// when every matching rule has room. An agent or capability without a matching rule is always allowed.
    /// </summary>
    /// <param name="agent">The agent name (case-insensitive).</param>
    /// <param name="capability">The capability being called.</param>
    /// <param name="now">The current time.</param>
    /// <param name="retryAfter">When denied: how long until the fullest matching rule has room; otherwise zero.</param>
    /// <returns>True when the call is allowed (and counted).</returns>
    public bool TryAcquire(string agent, Capability capability, DateTimeOffset now, out TimeSpan retryAfter)
    {
        ArgumentNullException.ThrowIfNull(capability);
        retryAfter = TimeSpan.Zero;
        // Exact name first (the runtime passes normalized names); otherwise normalize once.
        if (!_agents.TryGetValue(agent, out var windows)
            && (!AgentName.IsValid(agent) || !_agents.TryGetValue(AgentName.Normalize(agent), out windows)))
        {
            return true;
        }

        return windows.TryAcquire(capability, now.UtcTicks, out retryAfter);
    }

    /// <summary>Like <see cref="TryAcquire"/>, as a <see cref="PolicyDecision"/> (<c>rate_limited</c> when denied).</summary>
    public PolicyDecision Check(string agent, Capability capability, DateTimeOffset now, out TimeSpan retryAfter) =>
        TryAcquire(agent, capability, now, out retryAfter)
            ? PolicyDecision.Allow
            : PolicyDecision.Deny(PolicyReasonCodes.RateLimited, $"Rate limit for '{capability}' reached; retry after {Math.Ceiling(retryAfter.TotalSeconds)} s.");

    private sealed class AgentWindows(IReadOnlyList<RateLimitRule> rules)
    {
        private readonly Lock _gate = new();
        private readonly SlidingLog?[] _logs = new SlidingLog?[rules.Count];

        public bool TryAcquire(Capability capability, long nowTicks, out TimeSpan retryAfter)
        {
            retryAfter = TimeSpan.Zero;
            lock (_gate)
            {
                bool matchedAny = false;
                for (int i = 0; i < rules.Count; i++)
                {
                    if (!rules[i].Capability.Matches(capability))
                    {
                        continue;
                    }

                    matchedAny = true;
                    var wait = (_logs[i] ??= new SlidingLog(rules[i])).WaitTicks(nowTicks);
                    if (wait > retryAfter.Ticks)
                    {
                        retryAfter = TimeSpan.FromTicks(wait);
                    }
                }

                if (!matchedAny)
                {
                    return true;
                }

                if (retryAfter > TimeSpan.Zero)
                {
                    return false;
                }

                for (int i = 0; i < rules.Count; i++)
                {
                    if (rules[i].Capability.Matches(capability))
                    {
                        _logs[i]!.Record(nowTicks);
                    }
                }

                return true;
            }
        }
    }

    // The times of the last `limit` allowed calls in a ring: a call is allowed when the oldest of them
    // has left the window, which makes the sliding window exact with O(1) work per call.
    private sealed class SlidingLog(RateLimitRule rule)
    {
        private readonly long[] _times = new long[rule.Limit];
        private readonly long _period = rule.Per.Ticks;
        private int _count;
        private int _oldest;

        public long WaitTicks(long now)
        {
            if (_count < _times.Length)
            {
                return 0;
            }

            long wait = _times[_oldest] + _period - now;
            return wait > 0 ? wait : 0;
        }

        public void Record(long now)
        {
            if (_count < _times.Length)
            {
                _times[(_oldest + _count) % _times.Length] = now;
                _count++;
            }
            else
            {
                _times[_oldest] = now;
                _oldest = (_oldest + 1) % _times.Length;
            }
        }
    }
}
