using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Authorization;
using Aim.Identity;
using Aim.Policy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aim.Engine;

/// <summary>
/// The engine that needs no server: the agent's key from the local key store, grants from code or a
/// policy file, and a signed Merkle audit log in a local SQLite file.
/// </summary>
public sealed class EmbeddedEngine : IAimEngine
{
    private readonly AgentKey _key;
    private readonly AgentKey _logKey;
    private readonly AuthorizationPipeline _pipeline;
    private readonly TimeProvider _time;
    private int _disposed;

    private EmbeddedEngine(AgentKeyStore store, AgentKey key, AgentKey logKey, AgentPolicy policy, AuditLog log, AuthorizationPipeline pipeline, AimOptions options)
    {
        KeyStore = store;
        _key = key;
        _logKey = logKey;
        Policy = policy;
        AuditLog = log;
        _pipeline = pipeline;
        Options = options;
        _time = options.TimeProvider;
    }

    /// <inheritdoc />
    public AgentIdentity Agent => _key.Identity;

    /// <summary>The key store the agent's key came from.</summary>
    public AgentKeyStore KeyStore { get; }

    /// <summary>The agent's effective policy.</summary>
    public AgentPolicy Policy { get; }

    /// <summary>The agent's audit log.</summary>
    public AuditLog AuditLog { get; }

    /// <summary>The options the engine was built from.</summary>
    public AimOptions Options { get; }

    /// <summary>The public key that signs the audit log's tree heads.</summary>
    public ReadOnlyMemory<byte> LogPublicKey => _logKey.Identity.PublicKey;

    /// <summary>
    /// Opens (or creates) the agent's key, the log key and the audit log under <see cref="AimOptions.Home"/>, and builds the policy.
    /// </summary>
    /// <exception cref="AimConfigurationException">The options are invalid (no agent name, a bad grant or policy file).</exception>
    /// <exception cref="AimException">The key store or audit log is corrupt (the file is named, never overwritten).</exception>
    public static EmbeddedEngine Create(AimOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.AgentName))
        {
            throw new AimConfigurationException("AimOptions.AgentName is required.");
        }

        var loggers = loggerFactory ?? NullLoggerFactory.Instance;
        string home = options.Home ?? AgentKeyStore.DefaultHome();
        var store = new AgentKeyStore(home, options.TimeProvider);
        var policy = EmbeddedPolicy.Build(options);

        var key = store.LoadOrCreate(options.AgentName);
        AgentKey? logKey = null;
        try
        {
            logKey = store.LoadOrCreateLogKey();
            string auditPath = options.AuditLogPath ?? DefaultAuditLogPath(home, key.Identity.Name);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(auditPath))!);
            var log = AuditLog.Open(auditPath, logKey.KeyPair, options: options.AuditLogOptions, time: options.TimeProvider, logger: loggers.CreateLogger<AuditLog>());
            var limits = new InMemoryContextLimits();
            if (policy.Budget is not null)
            {
                SeedBudget(policy, log, limits);
            }

            var pipeline = new AuthorizationPipeline(new FixedPolicySource(policy), limits, options.ChainCheck, options.IntentCheck,
                options.ApprovalHandler is { } approvals ? new AimTelemetry.CountedApprovals(approvals) : null, options.TimeProvider, loggers.CreateLogger<AuthorizationPipeline>());
            var engine = new EmbeddedEngine(store, key, logKey, policy, log, pipeline, options);
            Heartbeat.Touch(home, key.Identity.Name, options.TimeProvider);
            return engine;
        }
        catch
        {
            key.Dispose();
            logKey?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A budget survives restarts: the ledger starts from what the signed log says was charged (the <c>cost_usd</c> of
    /// every allowed "authorized" entry, replayed in order so only the current period counts).
    /// </summary>
    private static void SeedBudget(AgentPolicy policy, AuditLog log, InMemoryContextLimits limits)
    {
        const int Page = 1024;
        for (long from = 0, total = log.Count; from < total; from += Page)
        {
            foreach (var entry in log.Read(from, (int)Math.Min(Page, total - from)))
            {
                var record = entry.Record;
                if (record.Kind == AuditEntryKind.Authorized && record.Decision == "allow" &&
                    record.Details?[AuthorizationPipeline.CostDetail] is JsonValue cost && cost.TryGetValue(out decimal usd) && usd > 0)
                {
                    limits.RecordSpend(policy, usd, entry.Time);
                }
            }
        }
    }

    /// <summary>Where an agent's audit log lives by default: <c>&lt;home&gt;/audit/&lt;agent&gt;.db</c>.</summary>
    /// <exception cref="KeyStoreException">The agent name is invalid.</exception>
    public static string DefaultAuditLogPath(string home, string agent) => Path.Combine(home, "audit", AgentName.Normalize(agent) + ".db");

    /// <inheritdoc />
    public ValueTask<AuthorizationDecision> AuthorizeAsync(ActionRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _pipeline.AuthorizeAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask RecordAsync(AuditRecord record, bool waitForDurable, CancellationToken cancellationToken)
    {
        if (_disposed != 0)
        {
            throw new AimUnavailableException("The embedded engine is disposed; nothing can be recorded.");
        }

        Heartbeat.Touch(KeyStore.Home, _key.Identity.Name, _time, force: false);
        if (!waitForDurable)
        {
            // Nobody waits: no task per record. A record that cannot be stored is logged by the audit log itself.
            try
            {
                AuditLog.AppendUntracked(record, _key.KeyPair);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not AimUnavailableException)
            {
                throw new AimUnavailableException($"The audit log at {AuditLog.Path} refused the record.", ex);
            }

            return ValueTask.CompletedTask;
        }

        ValueTask<long> append;
        try
        {
            append = AuditLog.AppendAsync(record, _key.KeyPair, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not AimUnavailableException)
        {
            throw new AimUnavailableException($"The audit log at {AuditLog.Path} refused the record.", ex);
        }

        return AwaitDurableAsync(append);
    }

    /// <summary>Flushes the audit log, writes a final tree head and releases the keys.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await AuditLog.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _key.Dispose();
            _logKey.Dispose();
        }
    }

    private async ValueTask AwaitDurableAsync(ValueTask<long> append)
    {
        try
        {
            await append.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not AimUnavailableException)
        {
            throw new AimUnavailableException($"The audit log at {AuditLog.Path} could not store the record.", ex);
        }
    }
}
