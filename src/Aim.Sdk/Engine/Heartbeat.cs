using System.Globalization;

namespace Aim.Engine;

/// <summary>
/// The embedded engine's liveness record: <c>&lt;home&gt;/heartbeat/&lt;agent&gt;</c> holds the time the agent
/// last acted (written at most once a minute). The local trust score's "heartbeat monitored" factor reads it.
/// </summary>
internal static class Heartbeat
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromMinutes(1);
    private static long lastWrittenTicks;

    public static string PathFor(string home, string agent) => Path.Combine(home, "heartbeat", agent);

    public static void Touch(string home, string agent, TimeProvider time, bool force = true)
    {
        var now = time.GetUtcNow();
        long last = Interlocked.Read(ref lastWrittenTicks);
        if (!force && now.UtcTicks - last < MinInterval.Ticks)
        {
            return;
        }

        Interlocked.Exchange(ref lastWrittenTicks, now.UtcTicks);
        try
        {
            string path = PathFor(home, agent);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, now.ToString("O", CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            // A missed heartbeat lowers the trust score; it must never fail an action.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static DateTimeOffset? Read(string home, string agent)
    {
        try
        {
            string text = File.ReadAllText(PathFor(home, agent));
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when) ? when : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
