using Aim.Audit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Aim.Gateway;

/// <summary>Builds the gateway web application from a config (used by <c>Program</c> and by tests).</summary>
public static class GatewayHost
{
    /// <summary>
    /// Builds (does not start) the gateway: Kestrel on <see cref="GatewayConfig.Listen"/>, every path proxied, an embedded
    /// Aim engine for the gateway's agent (<see cref="GatewayConfig.AgentName"/>) whose policy is the config's
    /// (<see cref="GatewayConfig.PolicyFile"/>, <see cref="GatewayConfig.Grants"/>) and whose step 4 verifies the callers'
    /// tokens against <see cref="GatewayConfig.TrustedKeys"/>. Logging defaults to warnings and errors only (nothing per
    /// request); <paramref name="logging"/> may change that.
    /// </summary>
    /// <param name="config">The config.</param>
    /// <param name="logging">Changes to the logging setup.</param>
    /// <param name="configure">Settings only code can give (mapped tools, a runtime of the caller's).</param>
    /// <exception cref="AimConfigurationException">The config is invalid.</exception>
    public static WebApplication Build(GatewayConfig config, Action<ILoggingBuilder>? logging = null, Action<GatewayOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var options = new GatewayOptions();
        configure?.Invoke(options);
        var time = options.TimeProvider ?? TimeProvider.System;

        // appsettings.json is read once at start: a reload-on-change watcher covers the whole working directory and woke
        // for every audit write under it (measured in docs/integrations.md).
        var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false"]);
        builder.WebHost.UseUrls(config.Listen);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The gateway does not advertise itself; the upstream's own Server header (if any) is forwarded.
            kestrel.AddServerHeader = false;
            // Bodies are read whole and inspected; one byte over the limit is how the gateway tells it is too large. Kestrel's
            // own limit stays at least its default, so the rest of a refused body can be drained and the client reads the 413.
            kestrel.Limits.MaxRequestBodySize = Math.Max(config.MaxBodyBytes + 1L, kestrel.Limits.MaxRequestBodySize ?? 0);
        });

        // No per-request Information logs (hosting's "Request starting/finished" would cost more than the proxying).
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        logging?.Invoke(builder.Logging);

        var verifier = options.Verifier ?? GatewayTokenRules.Verifier(config, time);
        if (options.Runtime is { } runtime)
        {
            builder.Services.AddSingleton(runtime);
        }
        else
        {
            builder.Services.AddSingleton(time);
            builder.Services.AddAim(o =>
            {
                o.AgentName = config.AgentName;
                o.Home = config.Home;
                o.PolicyFile = config.PolicyFile;
                o.Grant([.. config.Grants ?? (config.PolicyFile is null ? [GatewayProxy.ForwardCapability] : [])]);
                o.ChainCheck = GatewayTokenRules.ChainCheck(config, verifier);
                o.AuditLogOptions = new AuditLogOptions { MaxCommitDelay = TimeSpan.FromMilliseconds(config.AuditWindowMilliseconds) };
                options.ConfigureAim?.Invoke(o);
            });
        }

        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(sp => new GatewayProxy(
            config,
            sp.GetRequiredService<AimRuntime>(),
            verifier,
            sp.GetRequiredService<IHttpForwarder>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Aim.Gateway"),
            new Dictionary<string, ActionDescriptor>(options.Tools, StringComparer.Ordinal)));
        var app = builder.Build();
        var proxy = app.Services.GetRequiredService<GatewayProxy>();
        app.Run(proxy.HandleAsync);
        return app;
    }
}
