using Aim.Identity;
using Aim.Policy;

namespace Aim.Trust;

/// <summary>Where the agent's private key comes from.</summary>
public enum KeySource
{
    /// <summary>No key (the agent has no identity).</summary>
    None,

    /// <summary>The Aim key store (<c>AIM_HOME/agents/&lt;name&gt;.json</c>).</summary>
    KeyStore,

    /// <summary>An environment variable.</summary>
    EnvironmentVariable,

    /// <summary>Plain text in configuration or source code.</summary>
    PlainText,

    /// <summary>Generated in memory for this process only.</summary>
    Ephemeral,
}

/// <summary>One secured action (tool) the agent registered.</summary>
/// <param name="Name">The method or tool name.</param>
/// <param name="Capability">The declared capability, or null when the action declares none.</param>
/// <param name="DeclaredRisk">The declared risk (<see cref="RiskLevel.Auto"/> lets the classifier decide).</param>
public sealed record SecuredActionInfo(string Name, string? Capability, RiskLevel DeclaredRisk = RiskLevel.Auto);

/// <summary>
/// The local facts the trust score is computed from. The runtime fills it from real state: the key file
/// and its mode, the grants, the audit log verification, the key source, the policy signature, the
/// registered actions, the outbound host allow-list and the last heartbeat. <see cref="FromKeyStore"/>
/// and <see cref="WithPolicyFile"/> read the on-disk parts.
/// </summary>
public sealed record LocalTrustInputs
{
    /// <summary>The agent's name.</summary>
    public string Agent { get; init; } = string.Empty;

    /// <summary>The key file path, when the key is stored in a file.</summary>
    public string? KeyFilePath { get; init; }

    /// <summary>Whether the key loaded and verified (seed derives the public key).</summary>
    public bool KeyLoaded { get; init; }

    /// <summary>The key file's Unix mode (null on Windows or when unknown).</summary>
    public UnixFileMode? KeyFileMode { get; init; }

    /// <summary>Where the private key comes from.</summary>
    public KeySource KeySource { get; init; }

    /// <summary>The Aim home directory's Unix mode (null on Windows or when unknown).</summary>
    public UnixFileMode? HomeDirectoryMode { get; init; }

    /// <summary>The agent's grants in string form (<c>db:read@users_*</c>, <c>*</c>, ...).</summary>
    public IReadOnlyList<string> GrantedCapabilities { get; init; } = [];

    /// <summary>The audit log file, or null when there is no audit log.</summary>
    public string? AuditLogPath { get; init; }

    /// <summary>The result of verifying the audit log: true (chain and signatures verify), false (tampered or unreadable), null (not verified).</summary>
    public bool? AuditLogVerified { get; init; }

    /// <summary>How many entries the verification covered.</summary>
    public long AuditLogEntries { get; init; }

    /// <summary>The policy file, or null when the policy is built in code.</summary>
    public string? PolicyFilePath { get; init; }

    /// <summary>The state of the policy file's detached signature (ignored without <see cref="PolicyFilePath"/>).</summary>
    public PolicySignatureStatus PolicySignature { get; init; } = PolicySignatureStatus.Unsigned;

    /// <summary>The registered secured actions (tools).</summary>
    public IReadOnlyList<SecuredActionInfo> Actions { get; init; } = [];

    /// <summary>Hosts outbound calls may reach (for example <c>AimOptions.AllowedHosts</c>); null when outbound calls are not restricted.</summary>
    public IReadOnlyList<string>? AllowedHosts { get; init; }

    /// <summary>When the last heartbeat was recorded, or null when none was.</summary>
    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>
    /// Reads the key-related facts of an agent from a key store: the file, its mode, whether it loads,
    /// and the home directory's mode. Never throws for a bad key file (it counts as not loaded).
    /// </summary>
    public static LocalTrustInputs FromKeyStore(AgentKeyStore store, string agent)
    {
        ArgumentNullException.ThrowIfNull(store);
        string path;
        try
        {
            path = store.PathFor(agent);
        }
        catch (KeyStoreException)
        {
            return new LocalTrustInputs { Agent = agent, KeySource = KeySource.None };
        }

        bool loaded = false;
        if (File.Exists(path))
        {
            try
            {
                using var key = store.Load(agent);
                loaded = true;
            }
            catch (KeyStoreException)
            {
                // A refused key file leaves the agent without a usable identity; the factor says so.
            }
        }

        return new LocalTrustInputs
        {
            Agent = AgentName.Normalize(agent),
            KeyFilePath = File.Exists(path) ? path : null,
            KeyLoaded = loaded,
            KeyFileMode = AgentKeyStore.UnixModeOf(path),
            KeySource = File.Exists(path) ? KeySource.KeyStore : KeySource.None,
            HomeDirectoryMode = AgentKeyStore.UnixModeOf(store.Home),
        };
    }

    /// <summary>Adds the policy file and the state of its signature, trusting every key in <paramref name="store"/> (agents and the log key).</summary>
    public LocalTrustInputs WithPolicyFile(string policyPath, AgentKeyStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var trusted = new List<AgentIdentity>();
        try
        {
            trusted.AddRange(store.List());
            if (File.Exists(store.LogKeyPath))
            {
                using var logKey = store.LoadLogKey();
                trusted.Add(logKey.Identity);
            }
        }
        catch (KeyStoreException)
        {
            // A broken store vouches for nothing; the signature then counts as untrusted.
        }

        return this with { PolicyFilePath = policyPath, PolicySignature = Aim.Policy.PolicySignature.Verify(policyPath, trusted).Status };
    }
}
