using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aim.Gateway;

/// <summary>Builds the gateway web application from a config (used by <c>Program</c> and by tests).</summary>
public static class GatewayHost
{
    /// <summary>
    /// Builds (does not start) the gateway: Kestrel on <see cref="GatewayConfig.Listen"/>, every path proxied. Logging
    /// defaults to warnings and errors only (nothing per request); <paramref name="logging"/> may change that.
    /// </summary>
    /// <exception cref="AimConfigurationException">The config is invalid.</exception>
    public static WebApplication Build(GatewayConfig config, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(config.Listen);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The gateway does not advertise itself; the upstream's own Server header (if any) is forwarded.
            kestrel.AddServerHeader = false;
        });

        // No per-request Information logs (hosting's "Request starting/finished" would cost more than the proxying).
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        logging?.Invoke(builder.Logging);

        builder.Services.AddAim(o =>
        {
            o.AgentName = config.AgentName;
            o.Home = config.Home;
        });
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(sp => new GatewayProxy(config, sp.GetRequiredService<AimRuntime>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Aim.Gateway")));
        var app = builder.Build();
        var proxy = app.Services.GetRequiredService<GatewayProxy>();
        app.Run(proxy.HandleAsync);
        return app;
    }
}
