namespace Aim.Server.Siem;

/// <summary>How serious an audit event is, for SIEM filtering (ordered: a sink forwards its minimum and above).</summary>
public enum SiemSeverity
{
    /// <summary>Routine activity: allowed actions of low risk, registrations, grants.</summary>
    Info,

    /// <summary>Low-risk actions and key rotations.</summary>
    Low,

    /// <summary>Medium-risk actions, human denials, suspensions, API key changes.</summary>
    Medium,

    /// <summary>High-risk actions, any denied action, revocations.</summary>
    High,

    /// <summary>Critical-risk actions.</summary>
    Critical,
}

/// <summary>
/// SIEM forwarding of the audit log. Each configured sink gets every audit entry at or above its minimum severity,
/// at least once: entries go through a persistent outbox in the server database; each delivery runs through a
/// Microsoft.Extensions.Http.Resilience pipeline (retries, per-attempt timeout, circuit breaker), and a batch it gives up
/// on is retried with exponential backoff until the SIEM accepts it, across restarts. Configure in code or with the keys
/// <c>Siem:Splunk:Endpoint</c>, <c>Siem:Splunk:Token</c>, <c>Siem:Splunk:MinimumSeverity</c>,
/// <c>Siem:Sentinel:WorkspaceId</c>, <c>Siem:Sentinel:SharedKey</c>, <c>Siem:Sentinel:LogType</c> (command line or environment).
/// </summary>
public sealed class SiemOptions
{
    /// <summary>Splunk HTTP Event Collector; null to not forward to Splunk.</summary>
    public SplunkHecOptions? Splunk { get; set; }

    /// <summary>Microsoft Sentinel (Log Analytics Data Collector API); null to not forward to Sentinel.</summary>
    public SentinelOptions? Sentinel { get; set; }

    /// <summary>How often the forwarder looks for new entries and due retries (default 1 s).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most events sent in one request (default 100).</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>The wait after the first failed delivery; it doubles per failure (default 1 s).</summary>
    public TimeSpan MinBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between retries (default 5 min).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one delivery attempt may take (default 30 s).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Retries of a transient failure (connection error, 408, 429, 5xx, a timed-out attempt) within one delivery, with
    /// jittered exponential backoff from <see cref="MinBackoff"/> (default 2; 0 leaves every retry to the outbox).
    /// </summary>
    public int DeliveryRetries { get; set; } = 2;
}

/// <summary>Splunk HTTP Event Collector settings.</summary>
public sealed class SplunkHecOptions
{
    /// <summary>The HEC event endpoint, for example <c>https://splunk.example.com:8088/services/collector/event</c>.</summary>
    public required Uri Endpoint { get; set; }

    /// <summary>The HEC token, sent as <c>Authorization: Splunk &lt;token&gt;</c>.</summary>
    public required string Token { get; set; }

    /// <summary>The Splunk index; null for the token's default.</summary>
    public string? Index { get; set; }

    /// <summary>The event source type (default <c>aim:audit</c>).</summary>
    public string SourceType { get; set; } = "aim:audit";

    /// <summary>The event source (default <c>aim-server</c>).</summary>
    public string Source { get; set; } = "aim-server";

    /// <summary>Entries below this severity are not sent (default <see cref="SiemSeverity.Info"/>: everything).</summary>
    public SiemSeverity MinimumSeverity { get; set; } = SiemSeverity.Info;
}

/// <summary>Microsoft Sentinel settings (Log Analytics HTTP Data Collector API with a SharedKey signature).</summary>
public sealed class SentinelOptions
{
    /// <summary>The Log Analytics workspace id (a GUID).</summary>
    public required string WorkspaceId { get; set; }

    /// <summary>The workspace's primary or secondary key (base64), used as the HMAC-SHA256 key.</summary>
    public required string SharedKey { get; set; }

    /// <summary>The custom log type (records land in <c>&lt;LogType&gt;_CL</c>; letters, digits and underscores; default <c>AimAudit</c>).</summary>
    public string LogType { get; set; } = "AimAudit";

    /// <summary>Overrides the endpoint (default <c>https://&lt;workspace&gt;.ods.opinsights.azure.com/api/logs?api-version=2016-04-01</c>).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Entries below this severity are not sent (default <see cref="SiemSeverity.Info"/>).</summary>
    public SiemSeverity MinimumSeverity { get; set; } = SiemSeverity.Info;
}
