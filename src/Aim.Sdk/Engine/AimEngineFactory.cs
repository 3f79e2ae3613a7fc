using Microsoft.Extensions.Logging;

namespace Aim.Engine;

/// <summary>Chooses the engine from the options: embedded unless a server URL is given.</summary>
public static class AimEngineFactory
{
    /// <summary>Creates the engine the options describe.</summary>
    /// <exception cref="AimConfigurationException">The options are invalid (no agent name, a server URL that is not absolute http(s)).</exception>
    public static IAimEngine Create(AimOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ServerUrl is not null)
        {
            // The server decides; an invalid URL fails here rather than falling back to local decisions.
            return Remote.RemoteEngine.Create(options, loggerFactory);
        }

        return EmbeddedEngine.Create(options, loggerFactory);
    }
}
