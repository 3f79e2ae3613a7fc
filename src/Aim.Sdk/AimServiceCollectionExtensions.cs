using Aim.Engine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aim;

/// <summary>Registers Aim in a generic host or ASP.NET Core application.</summary>
public static class AimServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Aim runtime (embedded engine by default, the server when <see cref="AimOptions.ServerUrl"/> is set).
    /// The runtime becomes the process-wide one when the host starts, so generated interceptors use it.
    /// </summary>
    /// <exception cref="OptionsValidationException">At resolution: the options have no agent name.</exception>
    public static IServiceCollection AddAim(this IServiceCollection services, Action<AimOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<AimOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.Validate(o => !string.IsNullOrWhiteSpace(o.AgentName), "AimOptions.AgentName is required.").ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IAimEngine>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AimOptions>>().Value;
            var time = sp.GetRequiredService<TimeProvider>();
            if (!ReferenceEquals(time, TimeProvider.System))
            {
                options.TimeProvider = time;
            }

            return AimEngineFactory.Create(options, sp.GetService<ILoggerFactory>());
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AimOptions>>().Value;
            var runtime = new AimRuntime(
                sp.GetRequiredService<IAimEngine>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILogger<AimRuntime>>(),
                new Dictionary<string, string>(options.Attributes))
            {
                DurableAuditFrom = options.DurableAuditFrom,
            };
            AimRuntime.SetGlobal(runtime);
            return runtime;
        });
        services.AddHostedService<AimRuntimeActivator>();
        return services;
    }

    /// <summary>Resolves the runtime at start so it is current before the first secured call.</summary>
    private sealed class AimRuntimeActivator(AimRuntime runtime) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            AimRuntime.SetGlobal(runtime);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
