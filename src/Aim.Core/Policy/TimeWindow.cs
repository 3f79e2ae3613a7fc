namespace Aim.Policy;

/// <summary>
/// When an agent may act: a set of days of the week and a UTC hour range [<see cref="StartHour"/>,
/// <see cref="EndHour"/>). A range with <see cref="StartHour"/> &gt; <see cref="EndHour"/> runs over
/// midnight (22 to 6 is 22:00 to 06:00) and belongs to the day it starts on. No days means every day.
/// </summary>
public sealed class TimeWindow
{
    private readonly bool[] _days = new bool[7];

    /// <summary>Creates a window.</summary>
    /// <param name="days">The days it opens on; empty for every day.</param>
    /// <param name="startHour">First hour, 0 to 23 (UTC).</param>
    /// <param name="endHour">Hour it closes, 1 to 24 (UTC), different from <paramref name="startHour"/>.</param>
    /// <exception cref="PolicyFormatException">An hour is out of range, the range is empty, or a day is undefined.</exception>
    public TimeWindow(IEnumerable<DayOfWeek> days, int startHour, int endHour)
    {
        ArgumentNullException.ThrowIfNull(days);
        if (startHour is < 0 or > 23)
        {
            throw new PolicyFormatException(null, null, $"A time window's start hour is 0 to 23, got {startHour}.");
        }

        if (endHour is < 1 or > 24)
        {
            throw new PolicyFormatException(null, null, $"A time window's end hour is 1 to 24, got {endHour}.");
        }

        if (startHour == endHour)
        {
            throw new PolicyFormatException(null, null, "A time window's start and end hours must differ.");
        }

        var list = new List<DayOfWeek>();
        foreach (var day in days)
        {
            if (day is < DayOfWeek.Sunday or > DayOfWeek.Saturday)
            {
                throw new PolicyFormatException(null, null, $"Undefined day of week {(int)day}.");
            }

            if (!_days[(int)day])
            {
                _days[(int)day] = true;
                list.Add(day);
            }
        }

        if (list.Count == 0)
        {
            Array.Fill(_days, true);
        }

        list.Sort();
        Days = list;
        StartHour = startHour;
        EndHour = endHour;
    }

    /// <summary>The days the window opens on (empty: every day).</summary>
    public IReadOnlyList<DayOfWeek> Days { get; }

    /// <summary>First hour (UTC) inside the window.</summary>
    public int StartHour { get; }

    /// <summary>First hour (UTC) after the window.</summary>
    public int EndHour { get; }

    /// <summary>True when <paramref name="now"/> (converted to UTC) falls inside the window.</summary>
    public bool Contains(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        int hour = utc.Hour;
        int day = (int)utc.DayOfWeek;
        if (StartHour < EndHour)
        {
            return _days[day] && hour >= StartHour && hour < EndHour;
        }

        // Over midnight: the evening part belongs to today, the morning part to the day before.
        return (_days[day] && hour >= StartHour) || (_days[(day + 6) % 7] && hour < EndHour);
    }

    /// <summary>For example <c>Mon,Tue 09-17 UTC</c>.</summary>
    public override string ToString() =>
        $"{(Days.Count == 0 ? "every day" : string.Join(",", Days.Select(static d => d.ToString()[..3])))} {StartHour:00}-{EndHour:00} UTC";
}
