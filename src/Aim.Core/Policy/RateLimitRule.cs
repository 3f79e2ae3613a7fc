using Aim.Capabilities;

namespace Aim.Policy;

/// <summary>At most <see cref="Limit"/> calls of capabilities matching <see cref="Capability"/> in any <see cref="Per"/> period (sliding window).</summary>
public sealed class RateLimitRule
{
    /// <summary>The largest accepted limit (the limiter keeps one timestamp per allowed call).</summary>
    public const int MaxLimit = 100_000;

    /// <summary>The longest accepted period.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(366);

    /// <summary>Creates a rule.</summary>
    /// <param name="capabilityPattern">A grant pattern without resources: <c>email:send</c>, <c>email:*</c>, <c>*</c>.</param>
    /// <param name="limit">Calls allowed per period, 1 to <see cref="MaxLimit"/>.</param>
    /// <param name="per">The period, positive and at most <see cref="MaxPeriod"/>.</param>
    /// <exception cref="PolicyFormatException">A value is out of range or the pattern is malformed.</exception>
    public RateLimitRule(string capabilityPattern, int limit, TimeSpan per)
    {
        CapabilityGrant pattern;
        try
        {
            pattern = CapabilityGrant.Parse(capabilityPattern);
        }
        catch (CapabilityFormatException ex)
        {
            throw new PolicyFormatException(null, null, ex.Message, ex);
        }

        if (pattern.Resources.Count != 0)
        {
            throw new PolicyFormatException(null, null, $"A rate limit applies to a capability pattern; '{capabilityPattern}' names resources.");
        }

        if (limit is < 1 or > MaxLimit)
        {
            throw new PolicyFormatException(null, null, $"A rate limit is 1 to {MaxLimit} calls, got {limit}.");
        }

        if (per <= TimeSpan.Zero || per > MaxPeriod)
        {
            throw new PolicyFormatException(null, null, $"A rate limit period is positive and at most {MaxPeriod.TotalDays} days, got {per}.");
        }

        Capability = pattern;
        Limit = limit;
        Per = per;
    }

    /// <summary>The capabilities the rule counts.</summary>
    public CapabilityGrant Capability { get; }

    /// <summary>Calls allowed per period.</summary>
    public int Limit { get; }

    /// <summary>The sliding period.</summary>
    public TimeSpan Per { get; }

    /// <summary>For example <c>email:send 10 per 00:01:00</c>.</summary>
    public override string ToString() => $"{Capability} {Limit} per {Per:c}";
}
