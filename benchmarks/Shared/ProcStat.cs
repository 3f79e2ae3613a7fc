using System.Globalization;

namespace Aim.Benchmarks.Shared;

/// <summary>What the benchmark runners read from /proc (Linux): the machine's load and this process's per-thread CPU time.</summary>
internal static class ProcStat
{
    /// <summary>The 1, 5 and 15 minute load averages, or "n/a" where /proc/loadavg cannot be read.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>CPU time (user + system, in clock ticks of 10 ms) of this process's threads, summed by thread name; empty off Linux.</summary>
    public static Dictionary<string, long> ThreadCpuByName()
    {
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!Directory.Exists("/proc/self/task"))
        {
            return byName;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int open = stat.IndexOf('(', StringComparison.Ordinal), close = stat.LastIndexOf(')');
                string name = stat[(open + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                byName[name] = byName.GetValueOrDefault(name) + ticks;
            }
            catch (IOException)
            {
                // The thread ended while being read.
            }
        }

        return byName;
    }

    /// <summary>
    /// The CPU time each thread name used since <paramref name="before"/> (a <see cref="ThreadCpuByName"/> reading), in
    /// microseconds per one of <paramref name="operations"/>; busiest first, threads that used none left out.
    /// </summary>
    public static IEnumerable<(string Name, double UsPerOperation)> ThreadCpuSince(Dictionary<string, long> before, int operations) =>
        ThreadCpuByName()
            .Select(p => (Name: p.Key, Ticks: p.Value - before.GetValueOrDefault(p.Key)))
            .Where(u => u.Ticks > 0)
            .OrderByDescending(u => u.Ticks)
            .Select(u => (u.Name, u.Ticks * 10_000.0 / operations)); // clock ticks of 10 ms -> us per operation
}
