using Aim.Trust;

namespace Aim.Engine;

/// <summary>Collects the embedded engine's real local state into the inputs of the local trust score.</summary>
internal static class LocalTrust
{
    public static TrustReport Compute(EmbeddedEngine engine)
    {
        var options = engine.Options;
        string agent = engine.Agent.Name;
        var inputs = LocalTrustInputs.FromKeyStore(engine.KeyStore, agent);
        if (options.PolicyFile is not null)
        {
            inputs = inputs.WithPolicyFile(options.PolicyFile, engine.KeyStore);
        }

        engine.AuditLog.FlushAsync().GetAwaiter().GetResult();
        var verification = engine.AuditLog.Verify(null, [engine.Agent.PublicKey.ToArray()]);
        inputs = inputs with
        {
            GrantedCapabilities = engine.Policy.Grants.Select(g => g.ToString()).ToArray(),
            AuditLogPath = engine.AuditLog.Path,
            AuditLogVerified = verification.IsValid,
            AuditLogEntries = verification.EntriesChecked,
            Actions = ActionCatalog.All.Select(a => new SecuredActionInfo(a.Method, a.CapabilityName, a.DeclaredRisk)).ToArray(),
            AllowedHosts = options.AllowedHosts.Count == 0 ? null : options.AllowedHosts.ToArray(),
            LastHeartbeat = Heartbeat.Read(engine.KeyStore.Home, agent),
        };
        return LocalTrustScore.Compute(inputs, options.TimeProvider);
    }
}
