using System.Globalization;

namespace Aim.Benchmarks.Shared;

/// <summary>Per-thread CPU time of this process from /proc (Linux), for the probes that say which thread spends what.</summary>
internal static class ThreadCpu
{
    /// <summary>CPU time (user + system, in clock ticks of 10 ms) of this process's threads, summed by thread name; empty off Linux.</summary>
    public static Dictionary<string, long> ByName()
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
}
