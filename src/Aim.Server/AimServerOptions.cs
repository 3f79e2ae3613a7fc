namespace Aim.Server;

/// <summary>Settings of an Aim server process.</summary>
public sealed class AimServerOptions
{
    /// <summary>The data directory: the SQLite database, the log key and the bootstrap <c>admin.key</c>.</summary>
    public string DataDirectory { get; set; } = "aim-data";

    /// <summary>A PostgreSQL connection string; when set the server stores everything there instead of SQLite.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>The bootstrap admin key to install on first start (<c>AIM_ADMIN_KEY</c>) instead of generating one.</summary>
    public string? BootstrapAdminKey { get; set; }

    /// <summary>How far a signed request's <c>created</c> may be from the server clock (default 30 s).</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest request body accepted (default 64 KiB).</summary>
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>The longest JIT approval wait an agent may ask for (default 1 hour).</summary>
    public TimeSpan MaxApprovalTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest single long-poll wait (default 30 s).</summary>
    public TimeSpan MaxLongPoll { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The server clock (tests pass their own).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Step 5 on the server: the intent check run for medium, high and critical actions whose agent shared the action's
    /// text (<c>AimOptions.ShareActionText</c>). Default: Aim.Intent's classifier with its default thresholds (allow, step
    /// up to a human approval, or deny), the same check the embedded engine uses. Null skips step 5.
    /// </summary>
    public Aim.Authorization.IIntentCheck? IntentCheck { get; set; } = new Aim.Intent.Check.IntentClassifierCheck();

    /// <summary>SIEM forwarding (Splunk HEC, Microsoft Sentinel); no sink configured means no forwarding.</summary>
    public Siem.SiemOptions Siem { get; set; } = new();
}
