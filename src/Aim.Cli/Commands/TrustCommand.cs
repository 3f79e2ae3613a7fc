using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aim.Audit;
using Aim.Identity;
using Aim.Policy;
using Aim.Trust;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary>
/// <c>aim trust --agent &lt;agent&gt;</c>: the local trust score from the agent's state on disk (key, audit log,
/// heartbeat, policy file) plus what lives in the agent's code, given on the command line (grants, the assembly with
/// its secured actions, the host allow-list). With every input given it equals the runtime's score
/// (<c>AimAgent.GetTrustScore</c>); an input it cannot see is named, and the score is then a range.
/// </summary>
internal static class TrustCommand
{
    public static Command Create()
    {
        var home = new Option<string?>("--home") { Description = "Key store directory (default: AIM_HOME, then ~/.aim)." };
        var agentOption = Cli.AgentOption();
        var policy = new Option<FileInfo?>("--policy") { Description = "The agent's policy file (grants; a detached .sig makes it signed)." };
        var grants = new Option<string[]>("--grant") { Description = "A capability the agent's code grants (AimOptions.Grant), e.g. db:read@users_*; repeatable.", AllowMultipleArgumentsPerToken = true };
        var assemblies = new Option<FileInfo[]>("--assembly") { Description = "The agent's assembly compiled with Aim.Sdk (its secured actions are read from the manifest, never loaded); repeatable." };
        var hosts = new Option<string[]>("--allowed-host") { Description = "Hosts the agent is restricted to (AimOptions.AllowedHosts); repeatable. Without it the agent counts as unrestricted, the runtime's default.", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print JSON." };

        var command = new Command("trust", "Compute an agent's local trust score (8 weighted factors, each explained), as the runtime does.")
        {
            agentOption, home, policy, grants, assemblies, hosts, json,
        };
        command.SetAction(p => Cli.Run(() =>
        {
            var store = new AgentKeyStore(Cli.Home(p.GetValue(home)));
            string agent = AgentName.Normalize(p.GetRequiredValue(agentOption));
            if (!store.Exists(agent))
            {
                throw new AimConfigurationException($"No agent '{agent}' in {store.AgentsPath}. Create one: aim identity create --agent {agent}");
            }

            var unseen = new List<(string Factor, string Why)>();
            var inputs = LocalTrustInputs.FromKeyStore(store, agent);
            var granted = new List<string>(p.GetValue(grants) ?? []);
            if (p.GetValue(policy) is { } file)
            {
                var set = AgentPolicySet.Load(file.FullName);
                inputs = inputs.WithPolicyFile(file.FullName, store);
                granted.InsertRange(0, set.For(agent).Grants.Select(g => g.ToString()));
            }
            else if (granted.Count == 0)
            {
                unseen.Add((LocalTrustScore.Capabilities, "Grants made in code (AimOptions.Grant) are not visible here: pass them with --grant, or the policy file with --policy."));
            }

            inputs = inputs with { GrantedCapabilities = granted };
            if (p.GetValue(assemblies) is { Length: > 0 } files)
            {
                inputs = inputs with { Actions = ReadActions(files) };
            }
            else
            {
                unseen.Add((LocalTrustScore.SkillsVerified, "The agent's secured actions are compiled into its assembly: pass it with --assembly <MyAgent.dll>."));
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

            if (p.GetValue(hosts) is { Length: > 0 } allowed)
            {
                inputs = inputs with { AllowedHosts = allowed };
            }

            var report = LocalTrustScore.Compute(inputs);
            var factors = report.Factors.Select(f =>
            {
                string? why = unseen.FirstOrDefault(u => u.Factor == f.Name).Why;
                return (f.Name, f.Weight, Value: why is null ? f.Value : (double?)null, Explanation: why ?? f.Explanation);
            }).ToArray();
            double min = factors.Where(f => f.Value is not null).Sum(f => f.Weight * f.Value!.Value);
            double max = min + factors.Where(f => f.Value is null).Sum(f => f.Weight);
            double? score = unseen.Count == 0 ? report.Score : null;

            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    agent,
                    score = score is { } s ? Math.Round(s, 4) : (double?)null,
                    score_min = Math.Round(score ?? min, 4),
                    score_max = Math.Round(score ?? max, 4),
                    unseen = unseen.Select(u => u.Factor),
                    factors = factors.Select(f => new { name = f.Name, weight = f.Weight, value = f.Value is { } v ? Math.Round(v, 4) : (double?)null, explanation = f.Explanation }),
                }, Cli.Json));
                return Cli.Ok;
            }

            Console.WriteLine(score is { } total
                ? $"Trust score of {agent}: {total * 100:0}/100"
                : string.Create(CultureInfo.InvariantCulture, $"Trust score of {agent}: between {min * 100:0} and {max * 100:0}/100: the CLI cannot see {string.Join(" and ", unseen.Select(u => u.Factor))} (see below).")) ;
            var table = new Table().AddColumns("factor", "weight", "value", "why");
            foreach (var f in factors)
            {
                table.AddRow(Cli.Row(f.Name, $"{f.Weight:0.00}", f.Value is { } v ? $"{v * 100:0}%" : "?", f.Explanation));
            }

            Cli.Out.Write(table);
            return Cli.Ok;
        }));
        return command;
    }

    /// <summary>The secured actions of the given assemblies, from the manifest the generator embeds (one entry per method, as the runtime's catalog).</summary>
    private static SecuredActionInfo[] ReadActions(FileInfo[] files)
    {
        var actions = new Dictionary<string, SecuredActionInfo>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!file.Exists)
            {
                throw new AimConfigurationException($"The assembly {file.FullName} does not exist.");
            }

            string manifest;
            try
            {
                manifest = CapabilitiesCommand.ReadManifest(file.FullName)
                    ?? throw new AimConfigurationException($"{file.Name} has no [SecureAction] catalog (no secured methods, or not compiled with Aim.Sdk).");
            }
            catch (BadImageFormatException)
            {
                throw new AimConfigurationException($"{file.Name} is not a .NET assembly.");
            }

            try
            {
                using var document = JsonDocument.Parse(manifest);
                foreach (var action in document.RootElement.GetProperty("actions").EnumerateArray())
                {
                    string method = action.GetProperty("method").GetString()!;
                    string? capability = action.TryGetProperty("capability", out var c) ? c.GetString() : null;
                    var risk = action.TryGetProperty("declaredRisk", out var r) && Enum.TryParse<RiskLevel>(r.GetString(), ignoreCase: true, out var level) ? level : RiskLevel.Auto;
                    actions.TryAdd(method, new SecuredActionInfo(method, capability, risk));
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new AimConfigurationException($"The capability manifest in {file.Name} is malformed.");
            }
        }

        return [.. actions.Values];
    }
}
