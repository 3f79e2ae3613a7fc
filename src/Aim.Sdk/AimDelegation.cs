namespace Aim;

/// <summary>
/// The delegation token the current logical call runs under. It flows with async calls
/// (<see cref="AsyncLocal{T}"/>); step 4 of the call path checks it against each action.
/// </summary>
public static class AimDelegation
{
    private static readonly AsyncLocal<Ambient?> Current = new();

    /// <summary>The token in scope, or null when the agent acts on its own authority.</summary>
    public static string? CurrentToken => Current.Value?.Token;

    /// <summary>Whether the front door in scope demands a token (step 4 denies <c>aip_token_missing</c> without one).</summary>
    public static bool IsRequired => Current.Value?.Required ?? false;

    /// <summary>Runs the enclosed calls under <paramref name="token"/> until the returned scope is disposed.</summary>
    public static IDisposable Use(string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        return Push(new Ambient(token, Required: false));
    }

    /// <summary>
    /// Runs the enclosed calls under <paramref name="token"/> (which may be null) and demands one: a front door that only
    /// serves delegated callers (a protected MCP server, the AIP gateway) uses this, so the one call path refuses a call
    /// without a token (<c>aip_token_missing</c>) and records the refusal like any other.
    /// </summary>
    public static IDisposable Require(string? token) => Push(new Ambient(token, Required: true));

    private static Scope Push(Ambient ambient)
    {
        var previous = Current.Value;
        Current.Value = ambient;
        return new Scope(previous);
    }

    private sealed record Ambient(string? Token, bool Required);

    private sealed class Scope(Ambient? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                Current.Value = previous;
            }
        }
    }
}
