using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary><c>aim agents list|show|grant|revoke-grant|suspend|revoke</c>: manage agents on an Aim server.</summary>
internal static class AgentsCommand
{
    public static Command Create()
    {
        var server = ServerConnection.ServerOption();
        var keyFile = ServerConnection.ApiKeyFileOption();
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var agent = new Argument<string>("agent") { Description = "The agent's name or id." };
        var capabilities = new Argument<string[]>("capability") { Description = "Capabilities to grant, for example db:read or db:read@users_*.", Arity = ArgumentArity.OneOrMore };
        var capability = new Argument<string>("capability") { Description = "The granted capability pattern to remove." };

        var list = new Command("list", "List the organization's agents.") { server, keyFile, json };
        list.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var items = c.Get("api/v1/agents")["items"]!.AsArray();
            if (p.GetValue(json))
            {
                ServerConnection.PrintJson(items);
                return Cli.Ok;
            }

            var table = new Table().AddColumns("name", "id", "status", "created");
            foreach (var a in items)
            {
                table.AddRow(Cli.Row(S(a, "name"), S(a, "id"), S(a, "status"), S(a, "created")));
            }

            Cli.Out.Write(table);
            return Cli.Ok;
        }));

        var show = new Command("show", "Show one agent: status, keys and grants.") { agent, server, keyFile, json };
        show.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var a = c.Get($"api/v1/agents/{ServerConnection.Escape(p.GetValue(agent)!)}");
            if (p.GetValue(json))
            {
                ServerConnection.PrintJson(a);
                return Cli.Ok;
            }

            Console.WriteLine($"{S(a, "name")} ({S(a, "id")}): {S(a, "status")}");
            foreach (var k in a["keys"]?.AsArray() ?? [])
            {
                Console.WriteLine($"  key {S(k, "key_id")}" + (k?["not_after"] is JsonValue until ? $" (valid until {until})" : string.Empty));
            }

            foreach (var g in a["grants"]?.AsArray() ?? [])
            {
                Console.WriteLine($"  grant {g}");
            }

            return Cli.Ok;
        }));

        var grant = new Command("grant", "Grant capabilities to an agent.") { agent, capabilities, server, keyFile };
        grant.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var r = c.Post($"api/v1/agents/{ServerConnection.Escape(p.GetValue(agent)!)}/grants", new { capabilities = p.GetValue(capabilities) });
            Console.WriteLine("Grants: " + string.Join(", ", r["items"]!.AsArray().Select(g => S(g, "capability"))));
            return Cli.Ok;
        }));

        var revokeGrant = new Command("revoke-grant", "Remove a granted capability from an agent.") { agent, capability, server, keyFile };
        revokeGrant.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var r = c.Delete($"api/v1/agents/{ServerConnection.Escape(p.GetValue(agent)!)}/grants?capability={ServerConnection.Escape(p.GetValue(capability)!)}");
            Console.WriteLine("Grants: " + string.Join(", ", r["items"]!.AsArray().Select(g => S(g, "capability"))));
            return Cli.Ok;
        }));

        var policyFile = new Option<FileInfo?>("--file") { Description = "Set the policy from a JSON file: one agent entry of a policy file, or a whole policy file (its entry for this agent is used). Without it, the policy is shown." };
        var policy = new Command("policy", "Show or set the agent's policy on the server: grants, attributes, time windows, rate limits and budget (the policy-file format).") { agent, policyFile, server, keyFile, json };
        policy.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            string path = $"api/v1/agents/{ServerConnection.Escape(p.GetValue(agent)!)}/policy";
            JsonNode result;
            if (p.GetValue(policyFile) is { } file)
            {
                result = c.Put(path, PolicyEntry(file, p.GetValue(agent)!));
            }
            else
            {
                result = c.Get(path);
            }

            if (p.GetValue(json))
            {
                ServerConnection.PrintJson(result);
                return Cli.Ok;
            }

            Console.WriteLine("grants: " + string.Join(", ", result["grants"]?.AsArray().Select(g => g?.ToString()) ?? []));
            Console.WriteLine("policy: " + (result["policy"]?.ToJsonString() ?? "(none: grants only)"));
            return Cli.Ok;
        }));

        var root = new Command("agents", "Manage agents on an Aim server (--server <url> --api-key-file <file>).") { list, show, grant, revokeGrant, policy };
        foreach (var (verb, text) in new[] { ("suspend", "Suspend an agent (reactivate from the API or dashboard)."), ("revoke", "Revoke an agent for good.") })
        {
            var command = new Command(verb, text) { agent, server, keyFile };
            command.SetAction(p => Cli.Run(() =>
            {
                using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
                var a = c.Post($"api/v1/agents/{ServerConnection.Escape(p.GetValue(agent)!)}/{verb}");
                Console.WriteLine($"{S(a, "name")}: {S(a, "status")}");
                return Cli.Ok;
            }));
            root.Add(command);
        }

        return root;
    }

    // A whole policy file ({"version", "agents": {...}}) gives its entry for the agent; anything else is sent as the entry itself.
    private static JsonNode PolicyEntry(FileInfo file, string agent)
    {
        JsonNode? document;
        try
        {
            document = JsonNode.Parse(File.ReadAllText(file.FullName));
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or IOException)
        {
            throw new AimConfigurationException($"The policy file {file.FullName} cannot be read: {ex.Message}");
        }

        if (document is JsonObject whole && whole["agents"] is JsonObject agents)
        {
            var entry = agents.FirstOrDefault(a => string.Equals(a.Key, agent, StringComparison.OrdinalIgnoreCase)).Value
                ?? throw new AimConfigurationException($"The policy file {file.FullName} has no entry for agent '{agent}'.");
            return entry.DeepClone();
        }

        return document ?? throw new AimConfigurationException($"The policy file {file.FullName} is empty.");
    }

    internal static string S(JsonNode? node, string name) => node?[name] is JsonValue v ? v.ToString() : string.Empty;
}
