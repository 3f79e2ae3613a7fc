using System.CommandLine;
using System.Text.Json;
using Aim.Audit;
using Aim.Identity;
using Aim.Policy;
using Aim.Trust;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary><c>aim trust --name &lt;agent&gt;</c>: the local trust score, computed from the agent's real local state.</summary>
internal static class TrustCommand
{
    public static Command Create()
    {
        var home = new Option<string?>("--home") { Description = "Key store directory (default: AIM_HOME, then ~/.aim)." };
        var name = new Option<string>("--name") { Description = "The agent's name.", Required = true };
        var policy = new Option<FileInfo?>("--policy") { Description = "The agent's policy file (grants; a detached .sig makes it signed)." };
        var hosts = new Option<string[]>("--allowed-host") { Description = "Hosts the agent is restricted to (repeatable).", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print JSON." };

        var command = new Command("trust", "Compute an agent's local trust score (8 weighted factors, each explained).") { name, home, policy, hosts, json };
        command.SetAction(p => Cli.Run(() =>
        {
            var store = new AgentKeyStore(Cli.Home(p.GetValue(home)));
            string agent = AgentName.Normalize(p.GetRequiredValue(name));
            if (!store.Exists(agent))
            {
                throw new AimConfigurationException($"No agent '{agent}' in {store.AgentsPath}. Create one: aim identity create --name {agent}");
            }

            var inputs = LocalTrustInputs.FromKeyStore(store, agent);
            if (p.GetValue(policy) is { } file)
            {
                var set = AgentPolicySet.Load(file.FullName);
                inputs = inputs.WithPolicyFile(file.FullName, store) with
                {
                    GrantedCapabilities = set.For(agent).Grants.Select(g => g.ToString()).ToArray(),
                };
            }

            string auditPath = Aim.Engine.EmbeddedEngine.DefaultAuditLogPath(store.Home, agent);
            if (File.Exists(auditPath))
            {
                byte[] agentKey;
                using (var key = store.Load(agent))
                {
                    agentKey = key.Identity.PublicKey.ToArray();
                }

                var verification = AuditVerifier.VerifyFile(auditPath, null, [agentKey]);
                inputs = inputs with { AuditLogPath = auditPath, AuditLogVerified = verification.IsValid, AuditLogEntries = verification.EntriesChecked };
            }

            if (Aim.Engine.Heartbeat.Read(store.Home, agent) is { } beat)
            {
                inputs = inputs with { LastHeartbeat = beat };
            }

            var allowed = p.GetValue(hosts);
            if (allowed is { Length: > 0 })
            {
                inputs = inputs with { AllowedHosts = allowed };
            }

            var report = LocalTrustScore.Compute(inputs);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    agent,
                    score = Math.Round(report.Score, 4),
                    factors = report.Factors.Select(f => new { name = f.Name, weight = f.Weight, value = Math.Round(f.Value, 4), explanation = f.Explanation }),
                }, Cli.Json));
                return Cli.Ok;
            }

            Console.WriteLine($"Trust score of {agent}: {report.Score * 100:0}/100");
            var table = new Table().AddColumns("factor", "weight", "value", "why");
            foreach (var f in report.Factors)
            {
                table.AddRow(Cli.Row(f.Name, $"{f.Weight:0.00}", $"{f.Value * 100:0}%", f.Explanation));
            }

            Cli.Out.Write(table);
            return Cli.Ok;
        }));
        return command;
    }
}
