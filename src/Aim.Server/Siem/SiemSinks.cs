using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Aim.Server.Siem;

/// <summary>One SIEM destination: a stable name (the outbox key), a severity floor, and how to send a batch.</summary>
internal interface ISiemSink
{
    string Name { get; }

    SiemSeverity MinimumSeverity { get; }

    /// <summary>Sends a batch; true when the SIEM accepted all of it (anything else is retried later).</summary>
    Task<(bool Accepted, string? Error)> SendAsync(HttpClient http, IReadOnlyList<JsonObject> events, CancellationToken ct);
}

/// <summary>
/// Splunk HTTP Event Collector: one POST per batch whose body is the events' JSON objects back to back
/// (<c>{"time":&lt;epoch seconds&gt;,"source","sourcetype","index"?,"event":{...}}</c>), with <c>Authorization: Splunk &lt;token&gt;</c>.
/// </summary>
internal sealed class SplunkHecSink(SplunkHecOptions options) : ISiemSink
{
    public string Name => "splunk";

    public SiemSeverity MinimumSeverity => options.MinimumSeverity;

    public async Task<(bool, string?)> SendAsync(HttpClient http, IReadOnlyList<JsonObject> events, CancellationToken ct)
    {
        var body = new StringBuilder();
        foreach (var e in events)
        {
            var wrapper = new JsonObject
            {
                ["time"] = Math.Round(DateTimeOffset.Parse((string)e["time"]!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() / 1000.0, 3),
                ["source"] = options.Source,
                ["sourcetype"] = options.SourceType,
                ["event"] = e.DeepClone(),
            };
            if (options.Index is not null)
            {
                wrapper["index"] = options.Index;
            }

            body.Append(wrapper.ToJsonString()).Append('\n');
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, options.Endpoint)
        {
            Content = new StringContent(body.ToString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Splunk", options.Token);
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        return response.IsSuccessStatusCode ? (true, null) : (false, $"HTTP {(int)response.StatusCode}");
    }
}

/// <summary>
/// Microsoft Sentinel through the Log Analytics HTTP Data Collector API: a JSON array POSTed to
/// <c>/api/logs?api-version=2016-04-01</c> with <c>Log-Type</c>, <c>x-ms-date</c> (RFC 1123), <c>time-generated-field: time</c>
/// and <c>Authorization: SharedKey &lt;workspace&gt;:&lt;signature&gt;</c>, the signature being base64 HMAC-SHA256 under the
/// decoded workspace key of <c>"POST\n&lt;content length&gt;\napplication/json\nx-ms-date:&lt;date&gt;\n/api/logs"</c>.
/// </summary>
internal sealed class SentinelSink : ISiemSink
{
    private readonly SentinelOptions _options;
    private readonly byte[] _key;
    private readonly Uri _endpoint;
    private readonly TimeProvider _time;

    /// <exception cref="AimConfigurationException">The workspace id, key or log type is malformed.</exception>
    public SentinelSink(SentinelOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        if (!Guid.TryParse(options.WorkspaceId, out _))
        {
            throw new AimConfigurationException("Siem:Sentinel:WorkspaceId must be the Log Analytics workspace id (a GUID).");
        }

        try
        {
            _key = Convert.FromBase64String(options.SharedKey);
        }
        catch (FormatException)
        {
            throw new AimConfigurationException("Siem:Sentinel:SharedKey must be the workspace key in base64.");
        }

        if (options.LogType.Length is 0 or > 100 || !options.LogType.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new AimConfigurationException("Siem:Sentinel:LogType must be 1 to 100 letters, digits or underscores.");
        }

        _endpoint = options.Endpoint ?? new Uri($"https://{options.WorkspaceId}.ods.opinsights.azure.com/api/logs?api-version=2016-04-01");
    }

    public string Name => "sentinel";

    public SiemSeverity MinimumSeverity => _options.MinimumSeverity;

    /// <summary>The SharedKey signature of a request with this body length and date.</summary>
    public static string Signature(byte[] key, int contentLength, string rfc1123Date)
    {
        string toSign = $"POST\n{contentLength.ToString(CultureInfo.InvariantCulture)}\napplication/json\nx-ms-date:{rfc1123Date}\n/api/logs";
        return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(toSign)));
    }

    public async Task<(bool, string?)> SendAsync(HttpClient http, IReadOnlyList<JsonObject> events, CancellationToken ct)
    {
        var array = new JsonArray(events.Select(e =>
        {
            // Log Analytics wants flat columns: the nested record travels as a JSON string.
            var flat = (JsonObject)e.DeepClone();
            flat["record"] = e["record"]?.ToJsonString();
            return (JsonNode)flat;
        }).ToArray());
        byte[] body = Encoding.UTF8.GetBytes(array.ToJsonString());
        string date = _time.GetUtcNow().UtcDateTime.ToString("r", CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("Log-Type", _options.LogType);
        request.Headers.TryAddWithoutValidation("x-ms-date", date);
        request.Headers.TryAddWithoutValidation("time-generated-field", "time");
        request.Headers.TryAddWithoutValidation("Authorization", $"SharedKey {_options.WorkspaceId}:{Signature(_key, body.Length, date)}");
        using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
        return response.IsSuccessStatusCode ? (true, null) : (false, $"HTTP {(int)response.StatusCode}");
    }
}
