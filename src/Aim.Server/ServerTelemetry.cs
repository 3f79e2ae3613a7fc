using Aim.Server.Security;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Aim.Server;

/// <summary>
/// OpenTelemetry for the server, on only when an OTLP endpoint is configured: <c>--otlp http://collector:4318</c> (with
/// <c>--otlp-protocol grpc|http/protobuf</c>, default <c>http/protobuf</c>), or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// (and <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, read by the exporter). Exports traces of the <c>Aim</c> and ASP.NET Core
/// activity sources and the <c>Aim</c>, <c>Aim.Server</c>, ASP.NET Core and Kestrel meters, as service <c>aim-server</c>.
/// </summary>
internal static class ServerTelemetry
{
    /// <summary>The activity sources exported.</summary>
    public static readonly string[] Sources = ["Aim", "Microsoft.AspNetCore"];

    /// <summary>The meters exported.</summary>
    public static readonly string[] Meters = ["Aim", ServerMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>Adds OpenTelemetry with an OTLP exporter when configured; returns whether it did.</summary>
    /// <exception cref="AimConfigurationException">The endpoint is not an absolute http(s) URL or the protocol is unknown.</exception>
    public static bool Add(WebApplicationBuilder builder)
    {
        string? configured = builder.Configuration["otlp"];
        bool fromEnvironment = string.IsNullOrWhiteSpace(configured);
        if (fromEnvironment && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
        {
            return false;
        }

        Uri? endpoint = null;
        var protocol = OtlpExportProtocol.HttpProtobuf;
        if (!fromEnvironment)
        {
            if (!Uri.TryCreate(configured, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https"))
            {
                throw new AimConfigurationException($"--otlp must be an absolute http or https URL, got '{configured}'.");
            }

            protocol = builder.Configuration["otlp-protocol"] switch
            {
                null or "" or "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
                "grpc" => OtlpExportProtocol.Grpc,
                var other => throw new AimConfigurationException($"--otlp-protocol must be grpc or http/protobuf, got '{other}'."),
            };
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("aim-server", serviceVersion: typeof(ServerTelemetry).Assembly.GetName().Version?.ToString()))
            .WithTracing(t => t.AddSource(Sources).AddOtlpExporter(o => Configure(o, endpoint, protocol, "v1/traces")))
            .WithMetrics(m => m.AddMeter(Meters).AddOtlpExporter(o => Configure(o, endpoint, protocol, "v1/metrics")));
        return true;
    }

    private static void Configure(OtlpExporterOptions options, Uri? endpoint, OtlpExportProtocol protocol, string signalPath)
    {
        if (endpoint is null)
        {
            return; // OTEL_EXPORTER_OTLP_* from the environment, as the exporter reads them
        }

        options.Protocol = protocol;
        // A programmatic HTTP endpoint is used as given: a collector's base URL gets the signal's path, as the environment variable would.
        options.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf && endpoint.AbsolutePath is "/" or ""
            ? new Uri(endpoint, signalPath)
            : endpoint;
    }
}
