using Microsoft.Extensions.Hosting;

namespace Aim.Server.Siem;

/// <summary>
/// The background loop: for each sink, queue new audit entries, then send due outbox rows in batches. A failed batch
/// is retried after <see cref="SiemOptions.MinBackoff"/> doubling per attempt up to <see cref="SiemOptions.MaxBackoff"/>
/// (with up to 20% jitter so replicas do not retry in step). Database or network errors never stop the loop.
/// </summary>
internal sealed class SiemForwarder(SiemOutbox outbox, IReadOnlyList<ISiemSink> sinks, SiemOptions options, ILogger<SiemForwarder> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var http = new HttpClient { Timeout = options.RequestTimeout };
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await outbox.EnsureTablesAsync(stoppingToken).ConfigureAwait(false);
                foreach (var sink in sinks)
                {
                    await PumpAsync(http, sink, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or IOException)
            {
                logger.LogWarning("SIEM forwarding paused by a database error: {Message}", ex.Message);
            }

            try
            {
                await Task.Delay(options.PollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round for one sink: queue, then send until nothing is due or a batch fails.</summary>
    internal async Task PumpAsync(HttpClient http, ISiemSink sink, CancellationToken ct)
    {
        await outbox.EnqueueAsync(sink, ct).ConfigureAwait(false);
        while (!ct.IsCancellationRequested)
        {
            var due = await outbox.DueAsync(sink, Math.Max(1, options.BatchSize), ct).ConfigureAwait(false);
            if (due.Count == 0)
            {
                return;
            }

            (bool accepted, string? error) result;
            try
            {
                result = await sink.SendAsync(http, due.Select(d => d.Event).ToList(), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                result = (false, ex.GetType().Name + ": " + ex.Message);
            }

            if (result.accepted)
            {
                await outbox.DeliveredAsync(sink, due, ct).ConfigureAwait(false);
                continue;
            }

            logger.LogWarning("SIEM sink {Sink} refused or missed {Count} events ({Error}); retrying with backoff.", sink.Name, due.Count, result.error);
            await outbox.FailedAsync(sink, due, result.error ?? "failed", Backoff, ct).ConfigureAwait(false);
            return;
        }
    }

    internal TimeSpan Backoff(int attempt)
    {
        double ms = options.MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        ms = Math.Min(ms, options.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms * (1 + (Random.Shared.NextDouble() * 0.2)));
    }
}

/// <summary>Registers SIEM forwarding when a sink is configured (in code or configuration).</summary>
internal static class SiemRegistration
{
    /// <exception cref="AimConfigurationException">A configured sink's settings are malformed.</exception>
    public static void Add(IServiceCollection services, IConfiguration configuration, AimServerOptions options)
    {
        var siem = options.Siem;
        if (siem.Splunk is null && configuration["Siem:Splunk:Endpoint"] is { Length: > 0 } endpoint)
        {
            siem.Splunk = new SplunkHecOptions
            {
                Endpoint = Uri.TryCreate(endpoint, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u : throw new AimConfigurationException("Siem:Splunk:Endpoint must be an http(s) URL."),
                Token = configuration["Siem:Splunk:Token"] ?? Environment.GetEnvironmentVariable("AIM_SPLUNK_TOKEN") ?? throw new AimConfigurationException("Siem:Splunk:Token (or AIM_SPLUNK_TOKEN) is required."),
                Index = configuration["Siem:Splunk:Index"],
                MinimumSeverity = Severity(configuration["Siem:Splunk:MinimumSeverity"]),
            };
        }

        if (siem.Sentinel is null && configuration["Siem:Sentinel:WorkspaceId"] is { Length: > 0 } workspace)
        {
            siem.Sentinel = new SentinelOptions
            {
                WorkspaceId = workspace,
                SharedKey = configuration["Siem:Sentinel:SharedKey"] ?? Environment.GetEnvironmentVariable("AIM_SENTINEL_KEY") ?? throw new AimConfigurationException("Siem:Sentinel:SharedKey (or AIM_SENTINEL_KEY) is required."),
                LogType = configuration["Siem:Sentinel:LogType"] ?? "AimAudit",
                MinimumSeverity = Severity(configuration["Siem:Sentinel:MinimumSeverity"]),
            };
        }

        var sinks = new List<ISiemSink>();
        if (siem.Splunk is { } splunk)
        {
            sinks.Add(new SplunkHecSink(splunk));
        }

        if (siem.Sentinel is { } sentinel)
        {
            sinks.Add(new SentinelSink(sentinel, options.TimeProvider));
        }

        services.AddSingleton(sp => new SiemOutbox(sp.GetRequiredService<Storage.Database>(), options.TimeProvider));
        if (sinks.Count > 0)
        {
            services.AddSingleton<IReadOnlyList<ISiemSink>>(sinks);
            services.AddSingleton(siem);
            services.AddHostedService<SiemForwarder>();
        }
    }

    private static SiemSeverity Severity(string? text) =>
        text is null ? SiemSeverity.Info
        : Enum.TryParse<SiemSeverity>(text, ignoreCase: true, out var s) && Enum.IsDefined(s) && !char.IsDigit(text[0]) ? s
        : throw new AimConfigurationException("A SIEM MinimumSeverity must be info, low, medium, high or critical.");
}
