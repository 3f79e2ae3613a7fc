using Aim.Engine;

namespace Aim.Sdk.Tests;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly List<(DateTimeOffset Due, TimerCallback Callback, object? State, ManualTimer Timer)> _timers = [];
    private DateTimeOffset _now = start;
    private long _ticks;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 11, 18, 10, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_timers)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by)
    {
        List<(TimerCallback, object?)> due = [];
        lock (_timers)
        {
            _now += by;
            Interlocked.Add(ref _ticks, by.Ticks);
            for (int i = _timers.Count - 1; i >= 0; i--)
            {
                if (_timers[i].Due <= _now && !_timers[i].Timer.Disposed)
                {
                    due.Add((_timers[i].Callback, _timers[i].State));
                    _timers.RemoveAt(i);
                }
            }
        }

        foreach (var (callback, state) in due)
        {
            callback(state);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer();
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_timers)
            {
                _timers.Add((_now + dueTime, callback, state, timer));
            }
        }

        return timer;
    }

    private sealed class ManualTimer : ITimer
    {
        public bool Disposed { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period) => false;

        public void Dispose() => Disposed = true;

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>A fresh AIM_HOME per test, deleted afterwards.</summary>
public sealed class TempHome : IDisposable
{
    public TempHome()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aim-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Builds an embedded runtime for a test.</summary>
public static class Runtimes
{
    public static (AimRuntime Runtime, EmbeddedEngine Engine) Embedded(TempHome home, Action<AimOptions>? configure = null, string name = "test-agent")
    {
        var options = new AimOptions { AgentName = name, Home = home.Path };
        configure?.Invoke(options);
        var engine = EmbeddedEngine.Create(options);
        return (new AimRuntime(engine, options.TimeProvider, attributes: new Dictionary<string, string>(options.Attributes)), engine);
    }
}
