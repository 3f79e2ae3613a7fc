using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Aim.Server.AuditLog;
using Aim.Server.Siem;
using Aim.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace Aim.Server.Dashboard.Tests;

/// <summary>
/// SIEM deliveries go through the Microsoft.Extensions.Http.Resilience pipeline of the forwarder's named client: transient
/// failures are retried inside one delivery, a hung SIEM is cut off by the attempt timeout, a SIEM that keeps failing
/// opens its own circuit (not the other SIEM's), and whatever the pipeline gives up on stays in the outbox.
/// </summary>
public sealed class SiemResilienceTests
{
    private const string Token = "11111111-2222-3333-4444-555555555555";

    private static SiemOptions Options(int retries = 2, double attemptMs = 300) => new()
    {
        RequestTimeout = TimeSpan.FromMilliseconds(attemptMs),
        MinBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
        DeliveryRetries = retries,
    };

    /// <summary>The forwarder's real named client, with the network replaced by <paramref name="network"/>.</summary>
    private static (HttpClient Http, ServiceProvider Services) Client(SiemOptions options, HttpMessageHandler network)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        SiemRegistration.AddHttpClient(services, options).ConfigurePrimaryHttpMessageHandler(() => network);
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<IHttpClientFactory>().CreateClient(SiemForwarder.HttpClientName), provider);
    }

    private static SplunkHecSink Splunk(string host = "splunk.test") =>
        new(new SplunkHecOptions { Endpoint = new Uri($"http://{host}:8088/services/collector/event"), Token = Token });

    private static List<JsonObject> Events(int count) =>
        Enumerable.Range(0, count).Select(i => new JsonObject { ["time"] = "2026-01-01T00:00:00Z", ["index"] = i }).ToList();

    [Fact]
    public async Task Transient_answers_are_retried_within_one_delivery()
    {
        var network = new ScriptedNetwork((n, _) => n < 3 ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK);
        var (http, services) = Client(Options(), network);
        await using var _ = services;

        var (accepted, error) = await Splunk().SendAsync(http, Events(3), CancellationToken.None);

        Assert.True(accepted, error);
        Assert.Equal(3, network.Calls);
    }

    [Fact]
    public async Task A_refusal_is_not_retried_and_the_batch_is_reported_failed()
    {
        var network = new ScriptedNetwork((_, _) => HttpStatusCode.Unauthorized);
        var (http, services) = Client(Options(), network);
        await using var _ = services;

        var (accepted, error) = await Splunk().SendAsync(http, Events(1), CancellationToken.None);

        Assert.False(accepted);
        Assert.Equal("HTTP 401", error);
        Assert.Equal(1, network.Calls);
    }

    [Fact]
    public async Task A_siem_that_keeps_failing_is_reported_failed_after_the_retries()
    {
        var network = new ScriptedNetwork((_, _) => HttpStatusCode.InternalServerError);
        var (http, services) = Client(Options(retries: 2), network);
        await using var _ = services;

        var (accepted, error) = await Splunk().SendAsync(http, Events(1), CancellationToken.None);

        Assert.False(accepted);
        Assert.Equal("HTTP 500", error);
        Assert.Equal(3, network.Calls);
    }

    [Fact]
    public async Task A_hung_siem_is_cut_off_by_the_attempt_timeout()
    {
        var network = new ScriptedNetwork((_, _) => null);
        var (http, services) = Client(Options(retries: 1, attemptMs: 500), network);
        await using var _ = services;

        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<Polly.Timeout.TimeoutRejectedException>(() => Splunk().SendAsync(http, Events(1), CancellationToken.None));
        Assert.Equal(2, network.Calls);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task A_failing_siem_opens_its_own_circuit_and_not_the_other_siems()
    {
        var network = new ScriptedNetwork((_, request) => request.RequestUri!.Host == "down.test" ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK);
        var (http, services) = Client(Options(retries: 0), network);
        await using var _ = services;
        var down = Splunk("down.test");
        var up = Splunk("up.test");

        // The breaker samples at least 6 calls with half or more failing, then rejects without calling the SIEM.
        Exception? rejected = null;
        for (int i = 0; i < 20 && rejected is null; i++)
        {
            try
            {
                await down.SendAsync(http, Events(1), CancellationToken.None);
            }
            catch (BrokenCircuitException ex)
            {
                rejected = ex;
            }
        }

        Assert.IsType<BrokenCircuitException>(rejected, exactMatch: false);
        int callsToDown = network.CallsTo("down.test");
        await Assert.ThrowsAnyAsync<ExecutionRejectedException>(() => down.SendAsync(http, Events(1), CancellationToken.None));
        Assert.Equal(callsToDown, network.CallsTo("down.test"));

        var (accepted, error) = await up.SendAsync(http, Events(1), CancellationToken.None);
        Assert.True(accepted, error);
    }

    [Fact]
    public async Task Batches_the_pipeline_gives_up_on_stay_queued_and_arrive_when_the_siem_recovers()
    {
        await using var siem = new SwitchableSplunk();
        await siem.StartAsync();
        siem.Hang = true;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Siem = Options(retries: 1, attemptMs: 200);
            o.Siem.PollInterval = TimeSpan.FromMilliseconds(100);
            o.Siem.Splunk = new SplunkHecOptions { Endpoint = siem.Url, Token = Token };
        });
        var audit = server.Services.GetRequiredService<ServerAuditLog>();
        var org = (await server.Services.GetRequiredService<ServerStore>().FindOrgByNameAsync("default"))!;
        var logged = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            logged.Add(await audit.AppendAsync(org.Id, null, null, ServerEvents.Event("test.event", null, null, "siem-test", "event " + i)));
        }

        var outbox = server.Services.GetRequiredService<SiemOutbox>();
        await Eventually(async () => siem.Attempts >= 4, "several timed-out delivery attempts");
        Assert.True(await outbox.PendingAsync("splunk") >= logged.Count, "every event must still be queued while the SIEM hangs");
        Assert.Empty(siem.Received);

        siem.Hang = false;
        await Eventually(async () => logged.All(siem.Received.Contains), "every event at the SIEM after it recovers");
        await Eventually(async () => await outbox.PendingAsync("splunk") == 0, "an empty outbox");
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for: " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>Answers call n (from 1) with the script's status; null never answers.</summary>
    private sealed class ScriptedNetwork(Func<int, HttpRequestMessage, HttpStatusCode?> script) : HttpMessageHandler
    {
        private readonly ConcurrentDictionary<string, int> _byHost = new();
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public int CallsTo(string host) => _byHost.GetValueOrDefault(host);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _byHost.AddOrUpdate(request.RequestUri!.Host, 1, (_, n) => n + 1);
            var status = script(Interlocked.Increment(ref _calls), request);
            if (status is null)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return new HttpResponseMessage(status!.Value) { RequestMessage = request };
        }
    }

    /// <summary>A Splunk HEC endpoint on Kestrel that can hang (never answer) until switched back.</summary>
    private sealed class SwitchableSplunk : IAsyncDisposable
    {
        private WebApplication? _app;
        private int _attempts;

        public volatile bool Hang;

        public ConcurrentBag<long> Received { get; } = [];

        public int Attempts => Volatile.Read(ref _attempts);

        public Uri Url { get; private set; } = null!;

        public async Task StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.MapPost("/services/collector/event", async (HttpContext http) =>
            {
                Interlocked.Increment(ref _attempts);
                string body = await new StreamReader(http.Request.Body).ReadToEndAsync();
                if (Hang)
                {
                    await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { });
                    return Results.StatusCode(504);
                }

                foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Received.Add((long)JsonNode.Parse(line)!["event"]!["index"]!);
                }

                return Results.Json(new { text = "Success", code = 0 });
            });
            await app.StartAsync();
            _app = app;
            Url = new Uri(new Uri(app.Urls.First()), "/services/collector/event");
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }
    }
}
