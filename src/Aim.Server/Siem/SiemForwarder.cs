using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Aim.Server.Siem;

/// <summary>
/// The background loop: for each sink, queue new audit entries, then send due outbox rows in batches. Each request goes
/// through the <see cref="HttpClientName"/> client's resilience pipeline (<see cref="SiemRegistration.AddHttpClient"/>);
/// a batch the pipeline gives up on stays in the outbox and is tried again after <see cref="SiemOptions.MinBackoff"/>
/// doubling per attempt up to <see cref="SiemOptions.MaxBackoff"/> (with up to 20% jitter so replicas do not retry in
/// step). Database or network errors never stop the loop, and nothing queued is dropped.
/// </summary>
internal sealed class SiemForwarder(SiemOutbox outbox, IReadOnlyList<ISiemSink> sinks, SiemOptions options, IHttpClientFactory httpClients, ILogger<SiemForwarder> logger) : BackgroundService
{
    /// <summary>The named <see cref="HttpClient"/> the forwarder sends with.</summary>
    public const string HttpClientName = "Aim.Siem";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A client per round: the factory rotates its handlers (DNS changes), which a client held forever defeats.
                var http = httpClients.CreateClient(HttpClientName);
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
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ExecutionRejectedException && !ct.IsCancellationRequested)
            {
                // ExecutionRejectedException: the pipeline gave up (timeout, open circuit); the batch stays queued.
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
            AddHttpClient(services, siem);
            services.AddHostedService<SiemForwarder>();
        }
    }

    /// <summary>
    /// The forwarder's HTTP client on Microsoft.Extensions.Http.Resilience, one pipeline per SIEM host (so a dead
    /// Splunk never opens Sentinel's circuit): an overall timeout; retries of transient failures (connection errors,
    /// 408, 429, 5xx, a timed-out attempt) with jittered exponential backoff from <see cref="SiemOptions.MinBackoff"/>;
    /// a circuit breaker that stops calling a SIEM that keeps failing; and <see cref="SiemOptions.RequestTimeout"/> per
    /// attempt. Retrying a POST is safe here: delivery is at least once by design.
    /// </summary>
    internal static IHttpClientBuilder AddHttpClient(IServiceCollection services, SiemOptions siem)
    {
        var attempt = siem.RequestTimeout;
        var delay = siem.MinBackoff > TimeSpan.Zero ? siem.MinBackoff : TimeSpan.FromSeconds(1);
        int retries = Math.Max(0, siem.DeliveryRetries);
        var client = services.AddHttpClient(SiemForwarder.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        client.AddResilienceHandler("aim-siem", builder =>
        {
            // Every attempt at its full timeout plus the longest jittered waits between them.
            var total = (attempt * (retries + 1)) + (delay * ((1 << Math.Min(retries, 16)) * 2));
            builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = total });
            if (retries > 0)
            {
                builder.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = retries,
                    Delay = delay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                });
            }

            builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 6,
                SamplingDuration = Max(TimeSpan.FromSeconds(30), attempt * 2),
                BreakDuration = Max(TimeSpan.FromMilliseconds(500), delay),
            });
            builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = attempt });
        }).SelectPipelineByAuthority();
        return client;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static SiemSeverity Severity(string? text) =>
        text is null ? SiemSeverity.Info
        : Enum.TryParse<SiemSeverity>(text, ignoreCase: true, out var s) && Enum.IsDefined(s) && !char.IsDigit(text[0]) ? s
        : throw new AimConfigurationException("A SIEM MinimumSeverity must be info, low, medium, high or critical.");
}
