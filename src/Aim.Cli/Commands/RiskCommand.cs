using System.CommandLine;
using System.Text.Json;
using Aim.Capabilities;

namespace Aim.Cli.Commands;

/// <summary><c>aim risk &lt;capability&gt;</c>: the detected risk level and the rule that decided it.</summary>
internal static class RiskCommand
{
    public static Command Create()
    {
        var capability = new Argument<string>("capability") { Description = "A capability, namespace:action (for example payment:refund)." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var command = new Command("risk", "Classify a capability's risk: explicit > specific map > max(namespace, action) > namespace > action > medium.") { capability, json };
        command.SetAction(p => Cli.Run(() =>
        {
            var parsed = Capability.Parse(p.GetRequiredValue(capability));
            var assessment = RiskClassifier.Classify(parsed);
            RiskTables.Namespaces.TryGetValue(parsed.Namespace, out var ns);
            RiskTables.Actions.TryGetValue(parsed.Action, out var action);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    capability = parsed.Value,
                    risk = assessment.Level.ToString().ToLowerInvariant(),
                    rule = assessment.Rule,
                    @namespace = ns == RiskLevel.Auto ? null : ns.ToString().ToLowerInvariant(),
                    action = action == RiskLevel.Auto ? null : action.ToString().ToLowerInvariant(),
                }, Cli.Json));
            }
            else
            {
                Console.WriteLine($"{parsed.Value}: {assessment.Level.ToString().ToLowerInvariant()} (rule: {assessment.Rule}" +
                    (ns != RiskLevel.Auto ? $"; namespace '{parsed.Namespace}' is {ns.ToString().ToLowerInvariant()}" : string.Empty) +
                    (action != RiskLevel.Auto ? $"; action '{parsed.Action}' is {action.ToString().ToLowerInvariant()}" : string.Empty) + ")");
            }

            return Cli.Ok;
        }));
        return command;
    }
}
