using Aim.Audit;
using Aim.Engine;
using Aim.Identity;
using Microsoft.Extensions.Logging;

namespace Aim;

/// <summary>
/// An agent secured by Aim without a host: its identity, its runtime, and (embedded) its audit log.
/// <see cref="Secure"/> also makes the agent's runtime the process-wide one that generated interceptors use.
/// </summary>
public sealed class AimAgent : IAsyncDisposable, IDisposable
{
    private AimAgent(AimOptions options, IAimEngine engine, AimRuntime runtime)
    {
        Options = options;
        Engine = engine;
        Runtime = runtime;
    }

    /// <summary>The agent's identity.</summary>
    public AgentIdentity Identity => Engine.Agent;

    /// <summary>The agent's name.</summary>
    public string Name => Identity.Name;

    /// <summary>The agent's AIP identifier (<c>aip:key:ed25519:z...</c>).</summary>
    public string AipId => Identity.AipId;

    /// <summary>The runtime that authorizes this agent's actions.</summary>
    public AimRuntime Runtime { get; }

    /// <summary>The engine behind the runtime.</summary>
    public IAimEngine Engine { get; }

    /// <summary>The options the agent was created with.</summary>
    public AimOptions Options { get; }

    /// <summary>
    /// Secures an agent: loads or creates its key under <c>AIM_HOME</c>, opens the embedded engine (or
    /// the Aim server client when <see cref="AimOptions.ServerUrl"/> is set) and makes its runtime current.
    /// </summary>
    /// <param name="name">The agent's name (selects its key).</param>
    /// <param name="configure">Grants, server, home and other options.</param>
    /// <param name="loggerFactory">Optional logging.</param>
    /// <exception cref="AimConfigurationException">The options are invalid.</exception>
    /// <exception cref="AimException">The key store or the audit log is unusable (the file is named).</exception>
    public static AimAgent Secure(string name, Action<AimOptions>? configure = null, ILoggerFactory? loggerFactory = null)
    {
        var options = new AimOptions { AgentName = name };
        configure?.Invoke(options);
        if (string.IsNullOrWhiteSpace(options.AgentName))
        {
            throw new AimConfigurationException("An agent name is required.");
        }

        var engine = AimEngineFactory.Create(options, loggerFactory);
        var runtime = new AimRuntime(engine, options.TimeProvider, loggerFactory?.CreateLogger<AimRuntime>(), new Dictionary<string, string>(options.Attributes))
        {
            DurableAuditFrom = options.DurableAuditFrom,
        };
        AimRuntime.SetGlobal(runtime);
        return new AimAgent(options, engine, runtime);
    }

    /// <summary>Verifies the agent's embedded audit log end to end, requiring every entry to be signed by this agent's key.</summary>
    /// <exception cref="AimConfigurationException">The agent runs against a server (verify there instead).</exception>
    public AuditVerificationResult VerifyAuditLog()
    {
        var embedded = Engine as EmbeddedEngine ?? throw new AimConfigurationException("Only the embedded engine keeps a local audit log.");
        embedded.AuditLog.FlushAsync().GetAwaiter().GetResult();
        return embedded.AuditLog.Verify(null, [embedded.Agent.PublicKey.ToArray()]);
    }

    /// <summary>Computes the local trust score from the agent's real local state.</summary>
    /// <exception cref="AimConfigurationException">The agent runs against a server (its trust score lives there).</exception>
    public Aim.Trust.TrustReport GetTrustScore()
    {
        var embedded = Engine as EmbeddedEngine ?? throw new AimConfigurationException("The local trust score needs the embedded engine.");
        return LocalTrust.Compute(embedded);
    }

    /// <summary>Flushes the audit log and releases keys; clears the process-wide runtime if it is this agent's.</summary>
    public ValueTask DisposeAsync() => Runtime.DisposeAsync();

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
