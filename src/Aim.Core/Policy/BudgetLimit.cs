namespace Aim.Policy;

/// <summary>
/// How much an agent may spend (in US dollars) in total, or per fixed period when <see cref="Per"/> is
/// set (periods are aligned to the Unix epoch, so a day runs midnight to midnight UTC).
/// </summary>
public sealed class BudgetLimit
{
    /// <summary>Creates a budget.</summary>
    /// <exception cref="PolicyFormatException">The limit is negative, or the period is not positive.</exception>
    public BudgetLimit(decimal limitUsd, TimeSpan? per = null)
    {
        if (limitUsd < 0)
        {
            throw new PolicyFormatException(null, null, $"A budget is not negative, got {limitUsd}.");
        }

        if (per is { } period && (period <= TimeSpan.Zero || period > RateLimitRule.MaxPeriod))
        {
            throw new PolicyFormatException(null, null, $"A budget period is positive and at most {RateLimitRule.MaxPeriod.TotalDays} days, got {period}.");
        }

        LimitUsd = limitUsd;
        Per = per;
    }

    /// <summary>The spending limit in US dollars.</summary>
    public decimal LimitUsd { get; }

    /// <summary>The period the limit resets after; null for a lifetime budget.</summary>
    public TimeSpan? Per { get; }

    /// <summary>For example <c>$50 per 1.00:00:00</c>.</summary>
    public override string ToString() => Per is { } p ? $"${LimitUsd} per {p:c}" : $"${LimitUsd}";
}
