using System.Globalization;
using Aim.Capabilities;
using Aim.Policy;

namespace Aim.Trust;

/// <summary>
/// Computes an agent's local trust score from <see cref="LocalTrustInputs"/>: eight factors, each 0 to 1
/// with an explanation, weighted identity 20%, capabilities 15%, audit log 10%, secrets managed 15%,
/// config signed 10%, skills verified 10%, network controlled 10%, heartbeat monitored 10%.
/// </summary>
public static class LocalTrustScore
{
    /// <summary>Factor name: the agent has a persistent, private cryptographic identity.</summary>
    public const string Identity = "identity";

    /// <summary>Factor name: grants follow least privilege.</summary>
    public const string Capabilities = "capabilities";

    /// <summary>Factor name: a verified audit log exists.</summary>
    public const string AuditLog = "audit_log";

    /// <summary>Factor name: the private key is kept in a protected store.</summary>
    public const string SecretsManaged = "secrets_managed";

    /// <summary>Factor name: the policy file carries a valid signature by a trusted key.</summary>
    public const string ConfigSigned = "config_signed";

    /// <summary>Factor name: registered actions declare valid capabilities at an honest risk level.</summary>
    public const string SkillsVerified = "skills_verified";

    /// <summary>Factor name: outbound network calls are restricted to an allow-list.</summary>
    public const string NetworkControlled = "network_controlled";

    /// <summary>Factor name: the agent sends heartbeats.</summary>
    public const string HeartbeatMonitored = "heartbeat_monitored";

    /// <summary>A heartbeat younger than this counts fully.</summary>
    public static readonly TimeSpan FreshHeartbeat = TimeSpan.FromMinutes(5);

    /// <summary>A heartbeat older than this counts for nothing; between the two the value falls linearly.</summary>
    public static readonly TimeSpan StaleHeartbeat = TimeSpan.FromHours(24);

    /// <summary>The factor weights, in report order; they sum to 1.</summary>
    public static IReadOnlyList<(string Name, double Weight)> Weights { get; } =
    [
        (Identity, 0.20),
        (Capabilities, 0.15),
        (AuditLog, 0.10),
        (SecretsManaged, 0.15),
        (ConfigSigned, 0.10),
        (SkillsVerified, 0.10),
        (NetworkControlled, 0.10),
        (HeartbeatMonitored, 0.10),
    ];

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Computes the report with the system clock.</summary>
    public static TrustReport Compute(LocalTrustInputs inputs) => Compute(inputs, TimeProvider.System);

    /// <summary>Computes the report; <paramref name="timeProvider"/> gives "now" for the heartbeat age.</summary>
    public static TrustReport Compute(LocalTrustInputs inputs, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var values = new (double Value, string Explanation)[]
        {
            ScoreIdentity(inputs),
            ScoreCapabilities(inputs.GrantedCapabilities),
            ScoreAuditLog(inputs),
            ScoreSecrets(inputs),
            ScoreConfigSigned(inputs),
            ScoreSkills(inputs.Actions),
            ScoreNetwork(inputs.AllowedHosts),
            ScoreHeartbeat(inputs.LastHeartbeat, timeProvider.GetUtcNow()),
        };

        var factors = new TrustFactor[Weights.Count];
        double score = 0;
        for (int i = 0; i < factors.Length; i++)
        {
            var value = Math.Clamp(values[i].Value, 0, 1);
            factors[i] = new TrustFactor(Weights[i].Name, Weights[i].Weight, value, values[i].Explanation);
            score += factors[i].Contribution;
        }

        return new TrustReport(Math.Clamp(Math.Round(score, 6), 0, 1), factors);
    }

    private static (double, string) ScoreIdentity(LocalTrustInputs inputs)
    {
        if (!inputs.KeyLoaded)
        {
            return inputs.KeyFilePath is null
                ? (0, "No agent key: the agent has no cryptographic identity. Create one with the key store (aim init).")
                : (0, $"The key file {inputs.KeyFilePath} does not load (corrupt, foreign or too permissive); the agent cannot prove its identity.");
        }

        if (inputs.KeyFilePath is null)
        {
            return (0.5, "The key lives in memory only: the identity changes every run and cannot be recognized later. Store it in the key store.");
        }

        return inputs.KeyFileMode switch
        {
            null => (0.8, $"The key {inputs.KeyFilePath} loads and matches its public key; its file permissions could not be checked on this platform."),
            var mode when (mode & GroupOrOther) != 0 => (0.3, $"The key {inputs.KeyFilePath} loads but is accessible to group or others ({Octal(mode.Value)}); run chmod 600."),
            var mode => (1, $"Ed25519 key {inputs.KeyFilePath} loads, matches its public key and is private ({Octal(mode.Value)})."),
        };
    }

    private static (double, string) ScoreCapabilities(IReadOnlyList<string> grants)
    {
        if (grants.Count == 0)
        {
            return (1, "No capabilities granted: the agent can run no secured action (least privilege).");
        }

        double total = 0;
        int everything = 0, namespaceWide = 0, actionWide = 0, exact = 0, malformed = 0, resourceLimited = 0;
        foreach (var text in grants)
        {
            if (!CapabilityGrant.TryParse(text, out var grant))
            {
                malformed++;
                continue;
            }

            bool limited = !grant.CoversAllResources;
            resourceLimited += limited ? 1 : 0;
            if (grant.NamespacePattern == "*" && grant.ActionPattern == "*")
            {
                everything++;
                total += limited ? 0.2 : 0;
            }
            else if (grant.ActionPattern == "*")
            {
                namespaceWide++;
                total += limited ? 0.6 : 0.5;
            }
            else if (grant.NamespacePattern == "*")
            {
                actionWide++;
                total += limited ? 0.5 : 0.4;
            }
            else
            {
                exact++;
                total += limited ? 1 : 0.9;
            }
        }

        // An unrestricted '*' grant allows everything, whatever else is granted.
        bool unrestricted = grants.Any(static g => CapabilityGrant.TryParse(g, out var grant) && grant.IsUnrestricted);
        double value = unrestricted ? 0 : total / grants.Count;
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"{grants.Count} grant(s): {exact} exact, {namespaceWide} namespace-wide (ns:*), {actionWide} action-wide (*:action), {everything} '*', {resourceLimited} limited to resources, {malformed} malformed.");
        return unrestricted
            ? (0, summary + " A '*' grant allows every action; grant only the capabilities the agent uses.")
            : (value, value >= 0.9 ? summary + " Least privilege." : summary + " Replace wildcards with exact capabilities and resource patterns to raise this.");
    }

    private static (double, string) ScoreAuditLog(LocalTrustInputs inputs)
    {
        if (inputs.AuditLogPath is null)
        {
            return (0, "No audit log: actions leave no tamper-evident record.");
        }

        return inputs.AuditLogVerified switch
        {
            null => (0.3, $"Audit log {inputs.AuditLogPath} exists but was not verified (run aim audit verify)."),
            false => (0, $"Audit log {inputs.AuditLogPath} FAILED verification: it was altered, truncated or is unreadable."),
            true when inputs.AuditLogEntries == 0 => (0.8, $"Audit log {inputs.AuditLogPath} verifies but holds no entries yet."),
            true => (1, $"Audit log {inputs.AuditLogPath} verifies: {inputs.AuditLogEntries} signed entries in a Merkle tree log with valid tree heads."),
        };
    }

    private static (double, string) ScoreSecrets(LocalTrustInputs inputs)
    {
        switch (inputs.KeySource)
        {
            case KeySource.None:
                return (0, "No private key to protect: the agent has no identity.");
            case KeySource.PlainText:
                return (0.1, "The private key is in plain text in configuration or code; move it to the key store.");
            case KeySource.EnvironmentVariable:
                return (0.4, "The private key comes from an environment variable, readable by child processes and crash dumps; prefer the key store.");
            case KeySource.Ephemeral:
                return (0.5, "The private key exists only in memory for this run; nothing to leak on disk, but nothing persists either.");
        }

        double value = 1;
        var notes = new List<string>();
        if (inputs.KeyFileMode is { } keyMode && (keyMode & GroupOrOther) != 0)
        {
            value -= 0.5;
            notes.Add($"the key file is {Octal(keyMode)} (not 600)");
        }

        if (inputs.HomeDirectoryMode is { } homeMode && (homeMode & GroupOrOther) != 0)
        {
            value -= 0.3;
            notes.Add($"AIM_HOME is {Octal(homeMode)} (not 700)");
        }

        if (inputs.KeyFileMode is null || inputs.HomeDirectoryMode is null)
        {
            value -= 0.1;
            notes.Add("permissions could not be checked on this platform");
        }

        return notes.Count == 0
            ? (1, "The private key is in the key store: file 600, AIM_HOME 700.")
            : (value, "The private key is in the key store, but " + string.Join("; ", notes) + ".");
    }

    private static (double, string) ScoreConfigSigned(LocalTrustInputs inputs)
    {
        if (inputs.PolicyFilePath is null)
        {
            return (0.5, "The policy is built in code, so there is no policy file to sign; it is as trustworthy as the application binary.");
        }

        return inputs.PolicySignature switch
        {
            PolicySignatureStatus.Valid => (1, $"Policy {inputs.PolicyFilePath} has a valid Ed25519 signature by a key in the key store."),
            PolicySignatureStatus.UntrustedSigner => (0.3, $"Policy {inputs.PolicyFilePath} is signed, but by a key that is not in the key store."),
            PolicySignatureStatus.Invalid => (0, $"Policy {inputs.PolicyFilePath} has a signature that does NOT verify: the file changed after signing or the signature is forged."),
            _ => (0, $"Policy {inputs.PolicyFilePath} is not signed (no {inputs.PolicyFilePath}.sig); anyone who can write it can change the agent's permissions."),
        };
    }

    private static (double, string) ScoreSkills(IReadOnlyList<SecuredActionInfo> actions)
    {
        if (actions.Count == 0)
        {
            return (0.5, "No secured actions are registered, so no tool's permissions could be verified.");
        }

        int secured = 0;
        var problems = new List<string>();
        foreach (var action in actions)
        {
            if (action.Capability is null || !Capability.IsValid(action.Capability))
            {
                problems.Add($"{action.Name}: {(action.Capability is null ? "no capability" : "malformed capability")}");
                continue;
            }

            var detected = RiskClassifier.Classify(action.Capability).Level;
            if (action.DeclaredRisk != RiskLevel.Auto && action.DeclaredRisk < detected)
            {
                problems.Add($"{action.Name}: declared {action.DeclaredRisk} below detected {detected}");
                continue;
            }

            secured++;
        }

        var value = (double)secured / actions.Count;
        var text = string.Create(CultureInfo.InvariantCulture, $"{secured} of {actions.Count} action(s) declare a valid capability at or above the detected risk.");
        return problems.Count == 0 ? (value, text) : (value, text + " Problems: " + string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? "; ..." : "."));
    }

    private static (double, string) ScoreNetwork(IReadOnlyList<string>? allowedHosts)
    {
        if (allowedHosts is null)
        {
            return (0, "Outbound network calls are not restricted; configure AllowedHosts.");
        }

        if (allowedHosts.Count == 0)
        {
            return (1, "No outbound hosts are allowed.");
        }

        if (allowedHosts.Any(static h => h.Trim() is "*" or ""))
        {
            return (0.1, "AllowedHosts contains '*', which allows every host.");
        }

        int wildcards = allowedHosts.Count(static h => h.Contains('*'));
        return wildcards == 0
            ? (1, $"Outbound calls are limited to {allowedHosts.Count} named host(s).")
            : (0.8, $"Outbound calls are limited to {allowedHosts.Count} host pattern(s), {wildcards} with wildcards.");
    }

    private static (double, string) ScoreHeartbeat(DateTimeOffset? lastHeartbeat, DateTimeOffset now)
    {
        if (lastHeartbeat is not { } last)
        {
            return (0, "No heartbeat was ever recorded: nobody would notice if the agent stopped or was replaced.");
        }

        var age = now - last;
        if (age < TimeSpan.Zero)
        {
            return (0.5, $"The last heartbeat is {Describe(-age)} in the future: the clocks disagree.");
        }

        if (age <= FreshHeartbeat)
        {
            return (1, $"Last heartbeat {Describe(age)} ago.");
        }

        if (age >= StaleHeartbeat)
        {
            return (0, $"Last heartbeat {Describe(age)} ago: monitoring has lapsed.");
        }

        double value = 1 - (age - FreshHeartbeat) / (StaleHeartbeat - FreshHeartbeat);
        return (value, string.Create(CultureInfo.InvariantCulture, $"Last heartbeat {Describe(age)} ago; it counts fully within {FreshHeartbeat.TotalMinutes:0} minutes."));
    }

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalDays:0.#} days")
        : span.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#} hours")
        : span.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} minutes")
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} seconds");

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1ff, 8).PadLeft(3, '0');
}
