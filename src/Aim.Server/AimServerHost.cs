using System.Buffers.Text;
using Aim.Crypto;
using Aim.Server.AuditLog;
using Aim.Server.Decisions;
using Aim.Server.Endpoints;
using Aim.Server.Security;
using Aim.Server.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Routing;

namespace Aim.Server;

/// <summary>
/// Builds and runs the Aim server. Command line: <c>--urls http://127.0.0.1:8080 --data &lt;dir&gt;</c>, optionally
/// <c>--postgres "&lt;connection string&gt;"</c> (or <c>AIM_POSTGRES</c>) and <c>--otlp http://collector:4318</c> (or
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) to export traces and metrics. <c>AIM_ADMIN_KEY</c> sets the bootstrap admin key;
/// otherwise the first start with an empty database writes one to <c>&lt;data&gt;/admin.key</c> (mode 0600) and logs only its path.
/// </summary>
public static class AimServerHost
{
    /// <summary>Builds the application: runs migrations, bootstraps the first organization and maps every endpoint.</summary>
    /// <param name="args">Command-line arguments (ASP.NET Core configuration plus <c>--data</c> and <c>--postgres</c>).</param>
    /// <param name="configure">Overrides applied after the command line (tests set the clock, data directory or database here).</param>
    /// <exception cref="AimConfigurationException">The data directory or database cannot be used.</exception>
    public static async Task<WebApplication> BuildAsync(string[] args, Action<AimServerOptions>? configure = null)
    {
        // Configuration files are read once at start: a reload-on-change watcher covers the whole working directory, where
        // the data directory sits by default, and woke on every database write.
        var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
        var options = new AimServerOptions
        {
            DataDirectory = builder.Configuration["data"] ?? "aim-data",
            PostgresConnectionString = builder.Configuration["postgres"] ?? Environment.GetEnvironmentVariable("AIM_POSTGRES"),
            BootstrapAdminKey = Environment.GetEnvironmentVariable("AIM_ADMIN_KEY"),
        };
        configure?.Invoke(options);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes * 2L;
            k.AddServerHeader = false;
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Aim.Server", LogLevel.Information);
        ServerTelemetry.Add(builder); // OpenTelemetry over OTLP when --otlp or OTEL_EXPORTER_OTLP_ENDPOINT is set

        PrivateFiles.CreateDirectory(options.DataDirectory);
        bool sqlite = string.IsNullOrWhiteSpace(options.PostgresConnectionString);
        if (sqlite)
        {
            PrivateFiles.PrepareSqlite(Path.Combine(options.DataDirectory, "aim.db"));
        }

        var db = sqlite
            ? Database.Sqlite(Path.Combine(options.DataDirectory, "aim.db"))
            : Database.Postgres(options.PostgresConnectionString!);
        try
        {
            await Migrations.ApplyAsync(db, options.TimeProvider).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or InvalidOperationException or ArgumentException)
        {
            await db.DisposeAsync().ConfigureAwait(false);
            throw new AimConfigurationException($"The server database could not be opened or migrated ({db.Dialect}): {ex.Message}", ex);
        }

        var logKey = LoadOrCreateLogKey(options.DataDirectory);
        var store = new ServerStore(db, options.TimeProvider);
        var metrics = new ServerMetrics();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(db);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton(sp => new ServerAuditLog(db, logKey, options.TimeProvider, Path.Combine(options.DataDirectory, "audit-heads.jsonl"),
            sp.GetRequiredService<ILogger<ServerAuditLog>>()));
        var decisions = new DecisionStore(store);
        builder.Services.AddSingleton(decisions);
        builder.Services.AddSingleton(new AgentAccessCache(store, decisions));
        builder.Services.AddSingleton(new Decisions.OrgChainChecks(options));
        builder.Services.AddSingleton<Decisions.ServerDecider>();
        builder.Services.AddSingleton<RequestAuth>();
        builder.Services.AddSingleton<DecisionSignals>();
        Compat.AimCompatEndpoints.AddServices(builder.Services);
        Dashboard.DashboardEndpoints.AddServices(builder.Services); Reports.ReportEndpoints.AddServices(builder.Services); Siem.SiemRegistration.Add(builder.Services, builder.Configuration, options);

        var app = builder.Build();
        var logger = app.Logger;
        await BootstrapAsync(store, options, logger).ConfigureAwait(false);
        // Every organization's stored head is checked against the head ledger before the first request.
        var audit = app.Services.GetRequiredService<ServerAuditLog>();
        await audit.InitializeAsync().ConfigureAwait(false);
        app.Lifetime.ApplicationStopping.Register(audit.RecordHeads);
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            db.DisposeAsync().AsTask().GetAwaiter().GetResult();
            logKey.Dispose();
            metrics.Dispose();
        });

        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = WriteErrorAsync,
            StatusCodeSelector = StatusOf,
            // A refusal (bad signature, replay, unknown key, 4xx) is an answer, not a server fault: logging each with a stack
            // trace would let a flood of hostile requests turn into log I/O. They are counted in metrics instead.
            SuppressDiagnosticsCallback = c => c.Exception is ApiException { Status: < 500 },
        });
        // A refusal with no body (no route: 404, wrong method: 405, ...) answers the same JSON error as the API's own.
        app.UseStatusCodePages(WriteBodylessErrorAsync);
        app.Lifetime.ApplicationStarted.Register(() => LogListening(app));
        app.MapGet("/", () => Results.Redirect("/dashboard"));
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        app.MapGet("/health/ready", async (Database database) =>
        {
            try
            {
                await database.ReadAsync(c => c.ScalarAsync("SELECT 1", null)).ConfigureAwait(false);
                return Results.Json(new { status = "ready", database = database.Dialect.ToString().ToLowerInvariant(), schema = Migrations.LatestVersion });
            }
            catch (System.Data.Common.DbException)
            {
                return Results.Json(new { status = "unavailable" }, statusCode: 503);
            }
        });
        app.MapGet("/openapi/v1.json", (EndpointDataSource endpoints) => Results.Json(OpenApiDocument.Build(endpoints)));

        var api = app.MapGroup("/api/v1");
        OrgEndpoints.Map(api);
        AgentEndpoints.Map(api);
        VerificationEndpoints.Map(api);
        PolicyEndpoints.Map(api);
        AuditEndpoints.Map(api);
        TrustEndpoints.Map(api);
        McpEndpoints.Map(api);
        Compat.AimCompatEndpoints.Map(api);
        Reports.ReportEndpoints.Map(api); Dashboard.DashboardEndpoints.Map(app);
        return app;
    }

    /// <summary>Builds and runs the server until shutdown.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        WebApplication app;
        try
        {
            app = await BuildAsync(args).ConfigureAwait(false);
        }
        catch (AimException ex)
        {
            Console.Error.WriteLine($"aim-server: {ex.Code}: {ex.Message}");
            return 2;
        }

        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }

    private static async Task BootstrapAsync(ServerStore store, AimServerOptions options, ILogger logger)
    {
        if (await store.AnyApiKeyAsync().ConfigureAwait(false))
        {
            // The way back in: a bootstrap key that no longer works (revoked by an older server) is replaced from AIM_ADMIN_KEY.
            if (options.BootstrapAdminKey is { Length: > 0 } recovery && await store.RestoreBootstrapAsync("default", ApiKeys.Hash(recovery)).ConfigureAwait(false))
            {
                logger.LogWarning("The organization 'default' had no active bootstrap admin key; installed the one from AIM_ADMIN_KEY.");
            }

            return;
        }

        string key = options.BootstrapAdminKey ?? ApiKeys.Generate();
        if (!await store.BootstrapAsync("default", ApiKeys.Hash(key)).ConfigureAwait(false))
        {
            return;
        }

        if (options.BootstrapAdminKey is not null)
        {
            logger.LogInformation("Installed the bootstrap admin key from AIM_ADMIN_KEY.");
            return;
        }

        string path = Path.Combine(options.DataDirectory, "admin.key");
        WritePrivate(path, key + "\n");
        logger.LogWarning("Wrote the bootstrap admin API key to {Path} (mode 0600). Store it safely and delete the file.", Path.GetFullPath(path));
    }

    private static Ed25519KeyPair LoadOrCreateLogKey(string dataDirectory)
    {
        if (Environment.GetEnvironmentVariable("AIM_LOG_KEY") is { Length: > 0 } fromEnv)
        {
            return FromSeedText(fromEnv, "AIM_LOG_KEY");
        }

        string path = Path.Combine(dataDirectory, "log.key");
        if (File.Exists(path))
        {
            return FromSeedText(File.ReadAllText(path).Trim(), path);
        }

        var key = Ed25519KeyPair.Generate();
        try
        {
            WritePrivate(path, Base64Url.EncodeToString(key.ExportSeed()) + "\n");
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process sharing the data directory created it first: use theirs.
            key.Dispose();
            return FromSeedText(File.ReadAllText(path).Trim(), path);
        }

        return key;
    }

    private static Ed25519KeyPair FromSeedText(string text, string source)
    {
        if (!Base64Url.IsValid(text) || Base64Url.DecodeFromChars(text) is not { Length: Ed25519.SeedSize } seed)
        {
            throw new AimConfigurationException($"The log key in {source} is not a base64url 32-byte Ed25519 seed.");
        }

        return Ed25519KeyPair.FromSeed(seed);
    }

    private static void WritePrivate(string path, string content)
    {
        var streamOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, streamOptions);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }

    /// <summary>The addresses the server listens on, and the dashboard's URL (a wildcard host shown as localhost).</summary>
    private static void LogListening(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
        if (addresses.Length == 0)
        {
            return;
        }

        string first = addresses[0];
        var dashboard = Uri.TryCreate(first.Replace("://+", "://localhost").Replace("://*", "://localhost"), UriKind.Absolute, out var uri)
            ? new UriBuilder(uri) { Host = uri.Host is "0.0.0.0" or "[::]" ? "localhost" : uri.Host, Path = "/dashboard" }.Uri.ToString()
            : first.TrimEnd('/') + "/dashboard";
        app.Logger.LogInformation("Aim server listening on {Addresses}; dashboard: {Dashboard}", string.Join(", ", addresses), dashboard);
    }

    private static Task WriteBodylessErrorAsync(StatusCodeContext context)
    {
        var response = context.HttpContext.Response;
        var (code, message) = response.StatusCode switch
        {
            404 => ("not_found", "No such route."),
            405 => ("method_not_allowed", "This route does not accept the method " + context.HttpContext.Request.Method + "."),
            413 => (ErrorCodes.BodyTooLarge, "The body is too large."),
            415 => ("unsupported_media_type", "The content type is not accepted here."),
            400 => (ErrorCodes.InvalidRequest, "The request is malformed."),
            401 => ("unauthorized", "Authentication is required."),
            403 => ("forbidden", "The caller may not do this."),
            >= 500 => (ErrorCodes.InternalError, "An internal error occurred."),
            _ => ("http_" + response.StatusCode, "The request was refused."),
        };
        return response.WriteAsJsonAsync(new { error = new { code, message } });
    }

    private static int StatusOf(Exception ex) => ex switch
    {
        ApiException api => api.Status,
        BadHttpRequestException bad => bad.StatusCode,
        _ => 500,
    };

    private static async Task WriteErrorAsync(HttpContext context)
    {
        var ex = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var (status, code, message) = ex switch
        {
            ApiException api => (api.Status, api.Code, api.Message),
            BadHttpRequestException { StatusCode: 413 } => (413, ErrorCodes.BodyTooLarge, "The body is too large."),
            BadHttpRequestException bad => (bad.StatusCode, ErrorCodes.InvalidRequest, "The request is malformed."),
            _ => (500, ErrorCodes.InternalError, "An internal error occurred."),
        };
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new { error = new { code, message } }).ConfigureAwait(false);
    }
}
