namespace Aim.Intent.Check;

/// <summary>What kind of finding an alert reports.</summary>
public enum SecurityAlertKind
{
    /// <summary>The classifier flagged the action (blocked when high or critical; allowed and reported when medium).</summary>
    IntentFlagged = 0,

    /// <summary>The classifier timed out or failed and the action was let through (fail open).</summary>
    IntentUnavailable = 1,
}

/// <summary>A security finding about an agent's action; the trust score reads these.</summary>
/// <param name="Time">When it was raised.</param>
/// <param name="Kind">What was found.</param>
/// <param name="AgentId">The agent's stable id.</param>
/// <param name="AgentName">The agent's name.</param>
/// <param name="ActionId">The action attempt.</param>
/// <param name="Capability">The action's capability.</param>
/// <param name="Risk">The action's risk.</param>
/// <param name="Blocked">Whether the action was denied.</param>
/// <param name="Verdict">The classification, or <see langword="null"/> when the classifier was unavailable.</param>
/// <param name="Message">A one-line description.</param>
public sealed record SecurityAlert(
    DateTimeOffset Time,
    SecurityAlertKind Kind,
    string AgentId,
    string AgentName,
    string ActionId,
    string Capability,
    RiskLevel Risk,
    bool Blocked,
    IntentVerdict? Verdict,
    string Message);

/// <summary>Receives security alerts. Implementations must be thread-safe and fast; exceptions they throw are swallowed.</summary>
public interface ISecurityAlertSink
{
    /// <summary>Records an alert.</summary>
    void Raise(SecurityAlert alert);
}

/// <summary>
/// Keeps the most recent alerts in memory (bounded, oldest dropped first) for the trust score and
/// dashboards, and raises <see cref="AlertRaised"/> for each. Thread-safe.
/// </summary>
public sealed class InMemorySecurityAlertLog : ISecurityAlertSink
{
    private readonly Queue<SecurityAlert> alerts = new();
    private readonly Lock gate = new();
    private long total;

    /// <summary>Creates a log keeping at most <paramref name="capacity"/> alerts.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 1.</exception>
    public InMemorySecurityAlertLog(int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>Raised after an alert is recorded, on the thread that raised it.</summary>
    public event Action<SecurityAlert>? AlertRaised;

    /// <summary>The most alerts kept.</summary>
    public int Capacity { get; }

    /// <summary>Every alert ever raised, dropped ones included.</summary>
    public long TotalRaised => Interlocked.Read(ref total);

    /// <inheritdoc />
    public void Raise(SecurityAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        lock (gate)
        {
            if (alerts.Count == Capacity)
            {
                alerts.Dequeue();
            }

            alerts.Enqueue(alert);
        }

        Interlocked.Increment(ref total);
        AlertRaised?.Invoke(alert);
    }

    /// <summary>The alerts kept, oldest first.</summary>
    public IReadOnlyList<SecurityAlert> Snapshot()
    {
        lock (gate)
        {
            return alerts.ToArray();
        }
    }

    /// <summary>The kept alerts of one agent (by <see cref="SecurityAlert.AgentId"/>) raised at or after <paramref name="since"/>.</summary>
    public IReadOnlyList<SecurityAlert> ForAgent(string agentId, DateTimeOffset since = default)
    {
        lock (gate)
        {
            return alerts.Where(a => a.AgentId == agentId && a.Time >= since).ToArray();
        }
    }
}
