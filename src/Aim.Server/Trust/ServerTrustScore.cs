namespace Aim.Server.Trust;

/// <summary>One weighted factor of the server trust score.</summary>
/// <param name="Name">The factor's stable name.</param>
/// <param name="Weight">Its weight (the weights sum to 1).</param>
/// <param name="Value">Its value from 0 to 1.</param>
/// <param name="Explanation">Why it has that value, in one sentence.</param>
internal sealed record TrustFactor(string Name, double Weight, double Value, string Explanation);

/// <summary>What the server knows about an agent, gathered for the score.</summary>
internal sealed record TrustInputs
{
    public required string Status { get; init; }
    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset? LastActivity { get; init; }
    public int Verifications { get; init; }
    public int CapabilityDenials { get; init; }
    public int SuccessOutcomes { get; init; }
    public int FailedOutcomes { get; init; }
    public int Approved { get; init; }
    public int ApprovedWithOutcome { get; init; }
    public long SecurityEvents { get; init; }
    public string? Isolation { get; init; }
    public IReadOnlyList<long> Ratings { get; init; } = [];
}

/// <summary>
/// The server's 9-factor trust score (0-100): verification status 25%, uptime 15%, action success rate 15%,
/// security alerts 15%, compliance 10%, execution isolation 10%, agent age 5%, drift detection 3%, user
/// feedback 2%. Each factor carries an explanation; with no evidence a factor is neutral (0.5), never perfect.
/// </summary>
internal static class ServerTrustScore
{
    public static (double Score, IReadOnlyList<TrustFactor> Factors) Compute(TrustInputs i, DateTimeOffset now)
    {
        var factors = new List<TrustFactor>
        {
            i.Status switch
            {
                "active" => new("verification_status", 0.25, 1.0, "Active agent whose key was proven by a signed registration; every request is signature-checked."),
                "suspended" => new("verification_status", 0.25, 0.3, "The agent is suspended."),
                _ => new("verification_status", 0.25, 0.0, "The agent is revoked."),
            },
            Uptime(i.LastActivity, now),
            i.SuccessOutcomes + i.FailedOutcomes == 0
                ? new("action_success_rate", 0.15, 0.5, "No action outcomes reported yet (neutral).")
                : Ratio("action_success_rate", 0.15, i.SuccessOutcomes, i.SuccessOutcomes + i.FailedOutcomes, "actions reported success"),
            new("security_alerts", 0.15, Math.Max(0, 1 - (i.SecurityEvents / 10.0)),
                i.SecurityEvents == 0 ? "No refused signatures, replays or revoked-key use in 30 days." : $"{i.SecurityEvents} security event(s) in 30 days (refused signatures, replays, revoked use)."),
            i.Approved == 0
                ? new("compliance", 0.10, 0.5, "No approved actions to check for reported results yet (neutral).")
                : Ratio("compliance", 0.10, i.ApprovedWithOutcome, i.Approved, "approved actions reported their result"),
            (i.Isolation ?? "none").ToLowerInvariant() switch
            {
                "vm" or "container" or "sandbox" or "wasm" => new("execution_isolation", 0.10, 1.0, $"Runs isolated ({i.Isolation})."),
                "process" => new("execution_isolation", 0.10, 0.6, "Runs in its own process without a sandbox."),
                _ => new("execution_isolation", 0.10, 0.3, "No execution isolation declared."),
            },
            new("agent_age", 0.05, Math.Clamp((now - i.Created).TotalDays / 30, 0, 1), $"Registered {(now - i.Created).TotalDays:0.#} day(s) ago (full credit at 30)."),
            i.Verifications == 0
                ? new("drift_detection", 0.03, 0.5, "No verifications yet (neutral).")
                : new("drift_detection", 0.03, 1 - ((double)i.CapabilityDenials / i.Verifications),
                    $"{i.CapabilityDenials} of {i.Verifications} verifications in 30 days asked for capabilities outside the agent's grants."),
            i.Ratings.Count == 0
                ? new("user_feedback", 0.02, 0.5, "No feedback yet (neutral).")
                : new("user_feedback", 0.02, (i.Ratings.Average() - 1) / 4, $"Average rating {i.Ratings.Average():0.0}/5 from {i.Ratings.Count} rating(s)."),
        };
        double score = Math.Round(factors.Sum(f => f.Weight * f.Value) * 100, 1);
        return (score, factors);
    }

    private static TrustFactor Uptime(DateTimeOffset? last, DateTimeOffset now)
    {
        if (last is not { } seen)
        {
            return new("uptime", 0.15, 0.0, "The agent has never contacted the server.");
        }

        var ago = now - seen;
        double value = ago <= TimeSpan.FromHours(1) ? 1.0 : ago <= TimeSpan.FromDays(1) ? 0.7 : ago <= TimeSpan.FromDays(7) ? 0.4 : 0.1;
        return new("uptime", 0.15, value, $"Last seen {ago.TotalMinutes:0} minute(s) ago.");
    }

    private static TrustFactor Ratio(string name, double weight, int good, int total, string what) =>
        new(name, weight, (double)good / total, $"{good} of {total} {what}.");
}
