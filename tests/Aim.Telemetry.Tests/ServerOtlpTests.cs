using System.Collections.Concurrent;
using System.Text;
using Aim.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Aim.Telemetry.Tests;

/// <summary>The server exports over OTLP (HTTP/protobuf) to a collector stand-in on 127.0.0.1 when <c>--otlp</c> is given.</summary>
public sealed class ServerOtlpTests
{
    [Fact]
    public async Task Server_with_otlp_exports_its_metrics_and_request_traces_to_the_collector()
    {
        await using var collector = await Collector.StartAsync();
        string data = Directory.CreateTempSubdirectory("aim-otlp-server").FullName;
        var app = await AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0", "--otlp", collector.Url, "--otlp-protocol", "http/protobuf"], o =>
        {
            o.DataDirectory = data;
            o.BootstrapAdminKey = "aim_test_" + Guid.NewGuid().ToString("N");
        });
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) + "/") };
            // An unsigned verification is refused and counted (aim.server.signature_failures); /health is one more request span.
            using var refused = await http.PostAsync("api/v1/verifications", new StringContent("{}", Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
            (await http.GetAsync("health")).Dispose();

            Assert.True(app.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));
            Assert.True(app.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        var metrics = collector.Bodies("/v1/metrics");
        Assert.NotEmpty(metrics);
        Assert.Contains(metrics, b => Contains(b, "aim.server.signature_failures"));
        Assert.Contains(metrics, b => Contains(b, "aim-server"));
        var traces = collector.Bodies("/v1/traces");
        // ASP.NET Core's own request activities (no instrumentation package: the span carries no route tags).
        Assert.Contains(traces, b => Contains(b, "Microsoft.AspNetCore.Hosting.HttpRequestIn"));
    }

    [Fact]
    public async Task Server_without_an_endpoint_registers_no_exporter()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")));
        string data = Directory.CreateTempSubdirectory("aim-otlp-off").FullName;
        var app = await AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0"], o =>
        {
            o.DataDirectory = data;
            o.BootstrapAdminKey = "aim_test_" + Guid.NewGuid().ToString("N");
        });
        try
        {
            Assert.Null(app.Services.GetService<MeterProvider>());
            Assert.Null(app.Services.GetService<TracerProvider>());
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("--otlp", "not a url")]
    [InlineData("--otlp", "ftp://collector:4318")]
    [InlineData("--otlp-protocol", "carrier-pigeon")]
    public async Task Bad_otlp_settings_refuse_to_start(string name, string value)
    {
        string data = Directory.CreateTempSubdirectory("aim-otlp-bad").FullName;
        string[] args = name == "--otlp" ? ["--otlp", value] : ["--otlp", "http://127.0.0.1:4318", name, value];

        var error = await Assert.ThrowsAsync<AimConfigurationException>(() => AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0", .. args], o => o.DataDirectory = data));

        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    /// <summary>An OTLP/HTTP collector stand-in: accepts every POST and keeps its body by path.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _received;

        private Collector(WebApplication app, ConcurrentQueue<(string, byte[])> received, string url)
        {
            _app = app;
            _received = received;
            Url = url;
        }

        public string Url { get; }

        public static async Task<Collector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var received = new ConcurrentQueue<(string, byte[])>();
            app.MapPost("/{**path}", async (HttpContext context) =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                received.Enqueue((context.Request.Path.Value ?? "", buffer.ToArray()));
                context.Response.ContentType = "application/x-protobuf";
            });
            await app.StartAsync();
            return new Collector(app, received, app.Urls.First() + "/");
        }

        public string Paths() => string.Join(",", _received.Select(r => r.Path));

        public List<byte[]> Bodies(string path) => [.. _received.Where(r => r.Path == path).Select(r => r.Body)];

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
