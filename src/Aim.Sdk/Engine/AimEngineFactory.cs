using Microsoft.Extensions.Logging;

namespace Aim.Engine;

/// <summary>Chooses the engine from the options: embedded unless a server URL is given.</summary>
public static class AimEngineFactory
{
    /// <summary>Creates the engine the options describe.</summary>
    /// <exception cref="AimConfigurationException">The options are invalid.</exception>
    public static IAimEngine Create(AimOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ServerUrl is not null)
        {
            // Fail closed rather than silently falling back to local decisions the operator did not ask for.
            throw new AimConfigurationException(
                $"ServerUrl is set ({options.ServerUrl}) but this build of Aim.Sdk has no Aim server client yet; " +
                "remove ServerUrl to use the embedded engine.");
        }

        return EmbeddedEngine.Create(options, loggerFactory);
    }
}
