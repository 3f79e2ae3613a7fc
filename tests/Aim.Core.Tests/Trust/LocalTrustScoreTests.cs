using Aim.Identity;
using Aim.Policy;
using Aim.Trust;

namespace Aim.Core.Tests.Trust;

public sealed class LocalTrustScoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly UnixFileMode PrivateDir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly string _home = Path.Combine(Path.GetTempPath(), "aim-trust-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }
    }

    private static readonly LocalTrustInputs Best = new()
    {
        Agent = "support-agent",
        KeyFilePath = "/home/u/.aim/agents/support-agent.json",
        KeyLoaded = true,
        KeyFileMode = Private,
        KeySource = KeySource.KeyStore,
        HomeDirectoryMode = PrivateDir,
        GrantedCapabilities = ["db:read@users_*", "email:send@support@example.com"],
        AuditLogPath = "/home/u/.aim/audit.db",
        AuditLogVerified = true,
        AuditLogEntries = 42,
        PolicyFilePath = "/etc/aim/policy.json",
        PolicySignature = PolicySignatureStatus.Valid,
        Actions = [new("GetUsers", "db:read"), new("Refund", "payment:refund", RiskLevel.Critical)],
        AllowedHosts = ["api.example.com"],
        LastHeartbeat = Now.AddMinutes(-1),
    };

    private static TrustReport Compute(LocalTrustInputs inputs) => LocalTrustScore.Compute(inputs, new Policy.ManualTime(Now));

    [Fact]
    public void Weights_sum_to_one_and_match_the_specification()
    {
        Assert.Equal(1.0, LocalTrustScore.Weights.Sum(w => w.Weight), 10);
        Assert.Equal(
            [("identity", 0.20), ("capabilities", 0.15), ("audit_log", 0.10), ("secrets_managed", 0.15), ("config_signed", 0.10), ("skills_verified", 0.10), ("network_controlled", 0.10), ("heartbeat_monitored", 0.10)],
            LocalTrustScore.Weights.ToArray());
    }

    [Fact]
    public void Best_local_state_scores_one()
    {
        var report = Compute(Best);
        Assert.Equal(1.0, report.Score, 6);
        Assert.Equal(8, report.Factors.Count);
        Assert.All(report.Factors, f => Assert.Equal(1.0, f.Value));
        Assert.All(report.Factors, f => Assert.False(string.IsNullOrWhiteSpace(f.Explanation)));
    }

    [Fact]
    public void Empty_inputs_score_low_and_explain_every_factor()
    {
        var report = Compute(new LocalTrustInputs());
        // Only "no grants" (least privilege), "policy in code" and "no actions" give anything.
        Assert.Equal((0.15 * 1) + (0.10 * 0.5) + (0.10 * 0.5), report.Score, 6);
        Assert.Contains("no cryptographic identity", report["identity"].Explanation);
        Assert.Contains("not restricted", report["network_controlled"].Explanation);
        Assert.Contains("No heartbeat", report["heartbeat_monitored"].Explanation);
    }

    public static TheoryData<string, string, double, string> Degradations() => new()
    {
        // factor, change, expected factor value, phrase in the explanation
        { "identity", "key-not-loaded", 0, "does not load" },
        { "identity", "key-in-memory", 0.5, "in memory only" },
        { "identity", "key-world-readable", 0.3, "chmod 600" },
        { "identity", "key-mode-unknown", 0.8, "could not be checked" },
        { "capabilities", "grant-star", 0, "allows every action" },
        { "capabilities", "grant-namespace-wide", 0.5, "namespace-wide" },
        { "capabilities", "grant-action-wide", 0.4, "action-wide" },
        { "capabilities", "grant-exact-no-resource", 0.9, "Least privilege" },
        { "capabilities", "grant-malformed", 0, "malformed" },
        { "audit_log", "no-audit-log", 0, "No audit log" },
        { "audit_log", "audit-not-verified", 0.3, "not verified" },
        { "audit_log", "audit-tampered", 0, "FAILED" },
        { "audit_log", "audit-empty", 0.8, "no entries" },
        { "secrets_managed", "secret-env", 0.4, "environment variable" },
        { "secrets_managed", "secret-plain", 0.1, "plain text" },
        { "secrets_managed", "home-open", 0.7, "AIM_HOME" },
        { "secrets_managed", "key-open", 0.5, "not 600" },
        { "secrets_managed", "key-in-memory", 0.5, "only in memory" },
        { "secrets_managed", "key-mode-unknown", 0.9, "could not be checked" },
        { "config_signed", "policy-unsigned", 0, "not signed" },
        { "config_signed", "policy-forged", 0, "does NOT verify" },
        { "config_signed", "policy-untrusted", 0.3, "not in the key store" },
        { "config_signed", "policy-in-code", 0.5, "built in code" },
        { "skills_verified", "action-without-capability", 0.5, "no capability" },
        { "skills_verified", "action-risk-understated", 0.5, "below detected" },
        { "skills_verified", "action-malformed", 0.5, "malformed capability" },
        { "skills_verified", "no-actions", 0.5, "No secured actions" },
        { "network_controlled", "network-open", 0, "not restricted" },
        { "network_controlled", "network-star", 0.1, "every host" },
        { "network_controlled", "network-wildcard", 0.8, "wildcards" },
        { "network_controlled", "network-none", 1, "No outbound" },
        { "heartbeat_monitored", "heartbeat-never", 0, "No heartbeat" },
        { "heartbeat_monitored", "heartbeat-day-old", 0, "lapsed" },
        { "heartbeat_monitored", "heartbeat-future", 0.5, "clocks disagree" },
    };

    [Theory]
    [MemberData(nameof(Degradations))]
    public void Each_factor_moves_the_score_as_explained(string factor, string change, double expectedValue, string phrase)
    {
        var inputs = Apply(Best, change);

        var report = Compute(inputs);

        var f = report[factor];
        Assert.Equal(expectedValue, f.Value, 6);
        Assert.Contains(phrase, f.Explanation);

        // The key file's state is one fact seen by two factors (identity and secrets); every other change moves one factor only.
        string[] coupled = change.StartsWith("key-", StringComparison.Ordinal) ? ["identity", "secrets_managed"] : [factor];
        Assert.All(report.Factors.Where(x => !coupled.Contains(x.Name)), other => Assert.Equal(1.0, other.Value));
        Assert.Equal(1.0 - report.Factors.Sum(x => x.Weight * (1 - x.Value)), report.Score, 6);
        if (coupled.Length == 1)
        {
            Assert.Equal(1.0 - (f.Weight * (1 - expectedValue)), report.Score, 6);
        }
    }

    [Fact]
    public void Heartbeat_value_falls_linearly_between_fresh_and_stale()
    {
        var midpoint = LocalTrustScore.FreshHeartbeat + ((LocalTrustScore.StaleHeartbeat - LocalTrustScore.FreshHeartbeat) / 2);
        var report = Compute(Best with { LastHeartbeat = Now - midpoint });
        Assert.Equal(0.5, report["heartbeat_monitored"].Value, 6);
        Assert.Equal(0.95, report.Score, 6);

        var older = Compute(Best with { LastHeartbeat = Now - midpoint - TimeSpan.FromHours(1) });
        Assert.True(older.Score < report.Score);
    }

    [Fact]
    public void Unrestricted_grant_zeroes_capabilities_even_beside_exact_ones()
    {
        var report = Compute(Best with { GrantedCapabilities = ["db:read", "*"] });
        Assert.Equal(0, report["capabilities"].Value);
    }

    [Fact]
    public void Capabilities_value_is_the_mean_of_grant_values()
    {
        var report = Compute(Best with { GrantedCapabilities = ["db:read@users_*", "db:*"] });
        Assert.Equal(0.75, report["capabilities"].Value, 6);
    }

    [Fact]
    public void Inputs_from_a_real_key_store_score_identity_and_secrets_fully()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var store = new AgentKeyStore(_home);
        using (store.Create("agent"))
        {
        }

        var inputs = LocalTrustInputs.FromKeyStore(store, "agent");
        var report = Compute(inputs);

        Assert.True(inputs.KeyLoaded);
        Assert.Equal(KeySource.KeyStore, inputs.KeySource);
        Assert.Equal(1, report["identity"].Value);
        Assert.Equal(1, report["secrets_managed"].Value);

        File.SetUnixFileMode(store.PathFor("agent"), Private | UnixFileMode.OtherRead);
        var loosened = Compute(LocalTrustInputs.FromKeyStore(store, "agent"));
        Assert.Equal(0, loosened["identity"].Value); // the store refuses the key, so there is no usable identity
        Assert.Equal(0.5, loosened["secrets_managed"].Value, 6);
    }

    [Fact]
    public void Missing_key_in_a_real_store_scores_no_identity()
    {
        var inputs = LocalTrustInputs.FromKeyStore(new AgentKeyStore(_home), "ghost");
        Assert.False(inputs.KeyLoaded);
        Assert.Equal(KeySource.None, inputs.KeySource);
        Assert.Equal(0, Compute(inputs)["identity"].Value);
        Assert.Equal(KeySource.None, LocalTrustInputs.FromKeyStore(new AgentKeyStore(_home), "../bad").KeySource);
    }

    [Fact]
    public void Policy_file_signature_is_read_from_disk()
    {
        var store = new AgentKeyStore(_home);
        Directory.CreateDirectory(_home);
        var policy = Path.Combine(_home, "policy.json");
        File.WriteAllText(policy, """{"agents":{}}""");

        Assert.Equal(PolicySignatureStatus.Unsigned, new LocalTrustInputs().WithPolicyFile(policy, store).PolicySignature);

        using (var admin = store.Create("admin"))
        {
            PolicySignature.Sign(policy, admin);
        }

        var signed = new LocalTrustInputs().WithPolicyFile(policy, store);
        Assert.Equal(PolicySignatureStatus.Valid, signed.PolicySignature);
        Assert.Equal(1, Compute(Best with { PolicyFilePath = policy, PolicySignature = signed.PolicySignature })["config_signed"].Value);

        File.AppendAllText(policy, " ");
        Assert.Equal(PolicySignatureStatus.Invalid, new LocalTrustInputs().WithPolicyFile(policy, store).PolicySignature);

        using (var logKey = store.LoadOrCreateLogKey())
        {
            PolicySignature.Sign(policy, logKey);
        }

        Assert.Equal(PolicySignatureStatus.Valid, new LocalTrustInputs().WithPolicyFile(policy, store).PolicySignature);
    }

    private static LocalTrustInputs Apply(LocalTrustInputs b, string change) => change switch
    {
        "key-not-loaded" => b with { KeyLoaded = false },
        "key-in-memory" => b with { KeyFilePath = null, KeySource = KeySource.Ephemeral },
        "key-world-readable" => b with { KeyFileMode = Private | UnixFileMode.OtherRead },
        "key-mode-unknown" => b with { KeyFileMode = null },
        "grant-star" => b with { GrantedCapabilities = ["*"] },
        "grant-namespace-wide" => b with { GrantedCapabilities = ["db:*"] },
        "grant-action-wide" => b with { GrantedCapabilities = ["*:read"] },
        "grant-exact-no-resource" => b with { GrantedCapabilities = ["db:read"] },
        "grant-malformed" => b with { GrantedCapabilities = ["DB READ"] },
        "no-audit-log" => b with { AuditLogPath = null },
        "audit-not-verified" => b with { AuditLogVerified = null },
        "audit-tampered" => b with { AuditLogVerified = false },
        "audit-empty" => b with { AuditLogEntries = 0 },
        "secret-env" => b with { KeySource = KeySource.EnvironmentVariable },
        "secret-plain" => b with { KeySource = KeySource.PlainText },
        "home-open" => b with { HomeDirectoryMode = PrivateDir | UnixFileMode.OtherRead | UnixFileMode.OtherExecute },
        "key-open" => b with { KeyFileMode = Private | UnixFileMode.GroupRead },
        "policy-unsigned" => b with { PolicySignature = PolicySignatureStatus.Unsigned },
        "policy-forged" => b with { PolicySignature = PolicySignatureStatus.Invalid },
        "policy-untrusted" => b with { PolicySignature = PolicySignatureStatus.UntrustedSigner },
        "policy-in-code" => b with { PolicyFilePath = null },
        "action-without-capability" => b with { Actions = [new("GetUsers", "db:read"), new("Raw", null)] },
        "action-risk-understated" => b with { Actions = [new("GetUsers", "db:read"), new("Refund", "payment:refund", RiskLevel.Low)] },
        "action-malformed" => b with { Actions = [new("GetUsers", "db:read"), new("Bad", "Payment Refund")] },
        "no-actions" => b with { Actions = [] },
        "network-open" => b with { AllowedHosts = null },
        "network-star" => b with { AllowedHosts = ["*"] },
        "network-wildcard" => b with { AllowedHosts = ["*.example.com", "api.other.com"] },
        "network-none" => b with { AllowedHosts = [] },
        "heartbeat-never" => b with { LastHeartbeat = null },
        "heartbeat-day-old" => b with { LastHeartbeat = Now.AddDays(-2) },
        "heartbeat-future" => b with { LastHeartbeat = Now.AddHours(1) },
        _ => throw new ArgumentOutOfRangeException(nameof(change), change, null),
    };
}
