namespace Aim;

/// <summary>
/// The delegation token the current logical call runs under. It flows with async calls
/// (<see cref="AsyncLocal{T}"/>); step 4 of the call path checks it against each action.
/// </summary>
public static class AimDelegation
{
    private static readonly AsyncLocal<string?> Ambient = new();

    /// <summary>The token in scope, or null when the agent acts on its own authority.</summary>
    public static string? CurrentToken => Ambient.Value;

    /// <summary>Runs the enclosed calls under <paramref name="token"/> until the returned scope is disposed.</summary>
    public static IDisposable Use(string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        var previous = Ambient.Value;
        Ambient.Value = token;
        return new Scope(previous);
    }

    private sealed class Scope(string? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                Ambient.Value = previous;
            }
        }
    }
}
