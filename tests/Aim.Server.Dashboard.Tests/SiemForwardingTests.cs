using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Aim.Server.AuditLog;
using Aim.Server.Siem;
using Aim.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aim.Server.Dashboard.Tests;

/// <summary>
/// A local SIEM on Kestrel that speaks both wire formats and checks each request the way Splunk and Log Analytics
/// would (token, JSON shape, SharedKey signature recomputed from the raw body); a bad request is answered 401/400
/// and recorded as a protocol error, which fails the test.
/// </summary>
internal sealed class SiemReceiver : IAsyncDisposable
{
    public const string SplunkToken = "11111111-2222-3333-4444-555555555555";
    public const string WorkspaceId = "6f1c4c8e-9c1b-4c55-9d43-1a2b3c4d5e6f";
    public static readonly string SharedKey = Convert.ToBase64String(Enumerable.Range(1, 64).Select(i => (byte)i).ToArray());

    private WebApplication? _app;

    public ConcurrentBag<(long Index, string Severity, string Capability)> Splunk { get; } = [];

    public ConcurrentBag<(long Index, string Severity, string Capability)> Sentinel { get; } = [];

    public ConcurrentBag<string> ProtocolErrors { get; } = [];

    public int Port { get; private set; }

    public Uri SplunkUrl => new($"http://127.0.0.1:{Port}/services/collector/event");

    public Uri SentinelUrl => new($"http://127.0.0.1:{Port}/api/logs?api-version=2016-04-01");

    public async Task StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPost("/services/collector/event", async (HttpContext http) =>
        {
            if (http.Request.Headers.Authorization.ToString() != "Splunk " + SplunkToken)
            {
                ProtocolErrors.Add("splunk: wrong Authorization header");
                return Results.Json(new { text = "Invalid token", code = 4 }, statusCode: 401);
            }

            string body = await new StreamReader(http.Request.Body).ReadToEndAsync();
            foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var e = JsonNode.Parse(line)!.AsObject();
                if (e["time"] is not JsonValue t || !t.TryGetValue<double>(out _) || (string?)e["sourcetype"] != "aim:audit" || e["event"] is not JsonObject ev)
                {
                    ProtocolErrors.Add("splunk: malformed event " + line);
                    return Results.Json(new { text = "Invalid data format", code = 6 }, statusCode: 400);
                }

                Splunk.Add(((long)ev["index"]!, (string)ev["severity"]!, (string)ev["capability"]!));
            }

            return Results.Json(new { text = "Success", code = 0 });
        });
        app.MapPost("/api/logs", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            byte[] body = buffer.ToArray();
            string date = http.Request.Headers["x-ms-date"].ToString();
            string toSign = $"POST\n{body.Length}\napplication/json\nx-ms-date:{date}\n/api/logs";
            string expected = Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(SharedKey), Encoding.UTF8.GetBytes(toSign)));
            if (http.Request.Headers.Authorization.ToString() != $"SharedKey {WorkspaceId}:{expected}"
                || !DateTimeOffset.TryParseExact(date, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when)
                || Math.Abs((DateTimeOffset.UtcNow - when).TotalMinutes) > 15
                || http.Request.ContentType != "application/json"
                || http.Request.Headers["Log-Type"].ToString() != "AimAudit"
                || http.Request.Query["api-version"].ToString() != "2016-04-01")
            {
                ProtocolErrors.Add("sentinel: signature or headers wrong");
                return Results.StatusCode(403);
            }

            foreach (var e in JsonNode.Parse(body)!.AsArray())
            {
                if (e!["record"] is not JsonValue)
                {
                    ProtocolErrors.Add("sentinel: record must be a flat string column");
                    return Results.StatusCode(400);
                }

                Sentinel.Add(((long)e["index"]!, (string)e["severity"]!, (string)e["capability"]!));
            }

            return Results.Ok();
        });
        await app.StartAsync();
        _app = app;
        Port = new Uri(app.Urls.First()).Port;
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

public sealed class SiemForwardingTests
{
    private static void Configure(AimServerOptions o, SiemReceiver receiver, SiemSeverity splunkMinimum)
    {
        o.Siem = new SiemOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(100),
            MinBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromMilliseconds(400),
            BatchSize = 7,
            Splunk = new SplunkHecOptions { Endpoint = receiver.SplunkUrl, Token = SiemReceiver.SplunkToken, MinimumSeverity = splunkMinimum },
            Sentinel = new SentinelOptions { WorkspaceId = SiemReceiver.WorkspaceId, SharedKey = SiemReceiver.SharedKey, Endpoint = receiver.SentinelUrl },
        };
    }

    /// <summary>Appends server events: every third one a denied action (severity high), the rest routine (info).</summary>
    private static async Task<(List<long> All, List<long> High)> AppendAsync(TestServer server, int count)
    {
        var audit = server.Services.GetRequiredService<ServerAuditLog>();
        var org = (await server.Services.GetRequiredService<ServerStore>().FindOrgByNameAsync("default"))!;
        var all = new List<long>();
        var high = new List<long>();
        for (int i = 0; i < count; i++)
        {
            var record = ServerEvents.Event("test.event", null, null, "siem-test", "event " + i);
            if (i % 3 == 0)
            {
                record["kind"] = "action";
                record["capability"] = "payment:refund";
                record["decision"] = "deny";
            }

            long index = await audit.AppendAsync(org.Id, null, null, record);
            all.Add(index);
            if (i % 3 == 0)
            {
                high.Add(index);
            }
        }

        return (all, high);
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for: " + what);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Both_sinks_get_every_event_in_their_wire_format_and_splunk_filters_by_severity()
    {
        await using var receiver = new SiemReceiver();
        await receiver.StartAsync();
        await using var server = await TestServer.StartAsync(o => Configure(o, receiver, SiemSeverity.High));
        var (all, high) = await AppendAsync(server, 30);

        await EventuallyAsync(() => receiver.Sentinel.Select(e => e.Index).ToHashSet().IsSupersetOf(all), "every event at Sentinel");
        await EventuallyAsync(() => receiver.Splunk.Select(e => e.Index).ToHashSet().IsSupersetOf(high), "every high event at Splunk");
        await Task.Delay(500);
        Assert.Empty(receiver.ProtocolErrors);
        Assert.All(receiver.Splunk, e => Assert.True(e.Severity is "high" or "critical", $"Splunk got a {e.Severity} event (index {e.Index})"));
        Assert.Equal(high.ToHashSet(), receiver.Splunk.Select(e => e.Index).ToHashSet());
        Assert.Contains(receiver.Sentinel, e => e.Severity == "info");
        // The forwarder empties the outbox after the SIEM's answer: on a busy machine that may come a little later.
        var outbox = server.Services.GetRequiredService<SiemOutbox>();
        await EventuallyAsync(() => outbox.PendingAsync("sentinel").Result == 0, "an empty Sentinel outbox");
    }

    [Fact]
    public async Task The_outbox_answers_before_any_forwarder_has_created_its_tables()
    {
        // No SIEM configured: no forwarder runs, so nothing has created the outbox tables. Asking must still work
        // (a forwarder's first round can also come after the first health check).
        await using var server = await TestServer.StartAsync();
        var outbox = server.Services.GetRequiredService<SiemOutbox>();
        Assert.Equal(0, await outbox.PendingAsync("splunk"));
    }

    [Fact]
    public async Task Nothing_is_lost_while_the_siem_is_down_even_across_a_server_restart()
    {
        // Learn a free port, then take the receiver down: deliveries fail with connection refused.
        var receiver = new SiemReceiver();
        await receiver.StartAsync();
        int port = receiver.Port;
        var splunkUrl = receiver.SplunkUrl;
        var sentinelUrl = receiver.SentinelUrl;
        await receiver.StopAsync();

        string data = Directory.CreateTempSubdirectory("aim-siem-outage").FullName;
        string adminKey = "aim_test_" + Guid.NewGuid().ToString("N");
        void Configure2(AimServerOptions o)
        {
            Configure(o, receiver, SiemSeverity.Info);
            o.Siem.Splunk!.Endpoint = splunkUrl;
            o.Siem.Sentinel!.Endpoint = sentinelUrl;
        }

        List<long> first;
        await using (var server = await TestServer.StartAsync(Configure2, data, adminKey))
        {
            (first, _) = await AppendAsync(server, 25);
            var outbox = server.Services.GetRequiredService<SiemOutbox>();
            await EventuallyAsync(() => outbox.PendingAsync("splunk").Result >= first.Count, "the outbox to hold every event");
            // Let several delivery attempts fail (backoff doubles from 100 ms).
            await Task.Delay(1200);
            Assert.True(await outbox.PendingAsync("splunk") >= first.Count);
        }

        // A new server process on the same database picks the outbox up; the SIEM comes back later.
        await using var restarted = await TestServer.StartAsync(Configure2, data, adminKey);
        var (second, _) = await AppendAsync(restarted, 10);
        await Task.Delay(500);
        await using var back = new SiemReceiver();
        await back.StartAsync(port);

        var expected = first.Concat(second).ToHashSet();
        await EventuallyAsync(() => back.Splunk.Select(e => e.Index).ToHashSet().IsSupersetOf(expected), "every event at Splunk after the outage");
        await EventuallyAsync(() => back.Sentinel.Select(e => e.Index).ToHashSet().IsSupersetOf(expected), "every event at Sentinel after the outage");
        Assert.Empty(back.ProtocolErrors);
        var outbox2 = restarted.Services.GetRequiredService<SiemOutbox>();
        await EventuallyAsync(() => outbox2.PendingAsync("splunk").Result == 0 && outbox2.PendingAsync("sentinel").Result == 0, "an empty outbox");
        // At-least-once: duplicates are allowed, but only of events that were actually logged.
        Assert.Subset(expected, back.Splunk.Select(e => e.Index).ToHashSet());
    }

    [Fact]
    public void Sentinel_signature_matches_the_documented_string_to_sign()
    {
        byte[] key = Convert.FromBase64String(SiemReceiver.SharedKey);
        string date = "Mon, 04 Apr 2016 08:00:00 GMT";
        string expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"POST\n42\napplication/json\nx-ms-date:{date}\n/api/logs")));
        Assert.Equal(expected, SentinelSink.Signature(key, 42, date));
        Assert.NotEqual(expected, SentinelSink.Signature(key, 43, date));
    }

    [Theory]
    [InlineData("not-a-guid", "AAAA", "AimAudit")]
    [InlineData(SiemReceiver.WorkspaceId, "not base64!", "AimAudit")]
    [InlineData(SiemReceiver.WorkspaceId, "AAAA", "Aim Audit; DROP")]
    [InlineData(SiemReceiver.WorkspaceId, "AAAA", "")]
    public void Malformed_sentinel_settings_fail_at_start_with_a_configuration_error(string workspace, string key, string logType)
    {
        var ex = Assert.Throws<AimConfigurationException>(() => new SentinelSink(new SentinelOptions { WorkspaceId = workspace, SharedKey = key, LogType = logType }, TimeProvider.System));
        Assert.Contains("Siem:Sentinel", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("payment:refund", "deny", null, SiemSeverity.High)]
    [InlineData("db:read", "allow", "critical", SiemSeverity.Critical)]
    [InlineData("db:read", "allow", "low", SiemSeverity.Low)]
    [InlineData("db:read", "allow", "bogus", SiemSeverity.Info)]
    [InlineData("aim:agent.revoke", "allow", null, SiemSeverity.High)]
    [InlineData("aim:approval.denied", "allow", null, SiemSeverity.Medium)]
    [InlineData("aim:agent.registered", "allow", "critical", SiemSeverity.Info)]
    public void Severity_follows_decision_event_and_risk(string capability, string decision, string? risk, SiemSeverity expected)
    {
        var record = new JsonObject();
        if (risk is not null)
        {
            record["risk"] = risk;
        }

        Assert.Equal(expected, SiemEvent.SeverityOf(capability, decision, record));
    }
}
