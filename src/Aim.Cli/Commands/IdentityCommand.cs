using System.CommandLine;
using System.Text.Json;
using Aim.Identity;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary><c>aim identity create|show|list</c>: the agents in the key store. Never prints private keys.</summary>
internal static class IdentityCommand
{
    public static Command Create()
    {
        var home = new Option<string?>("--home") { Description = "Key store directory (default: AIM_HOME, then ~/.aim)." };
        var name = Cli.AgentOption();
        var json = new Option<bool>("--json") { Description = "Print JSON." };

        var create = new Command("create", "Create an agent identity (Ed25519 key, 0600 file) and print its aip:key id.") { name, home };
        create.SetAction(p => Cli.Run(() =>
        {
            var store = new AgentKeyStore(Cli.Home(p.GetValue(home)));
            using var key = store.Create(p.GetRequiredValue(name));
            Console.WriteLine(key.Identity.AipId);
            return Cli.Ok;
        }));

        var show = new Command("show", "Show an agent's identity: id, name, aip:key and did:key forms, key file.") { name, json, home };
        show.SetAction(p => Cli.Run(() =>
        {
            var store = new AgentKeyStore(Cli.Home(p.GetValue(home)));
            using var key = store.Load(p.GetRequiredValue(name));
            var id = key.Identity;
            string file = store.PathFor(id.Name);
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    id = id.Id,
                    name = id.Name,
                    aip_id = id.AipId,
                    did = id.DidKey,
                    public_key = Convert.ToHexStringLower(id.PublicKey.Span),
                    key_file = file,
                }, Cli.Json));
            }
            else
            {
                var grid = new Grid().AddColumn().AddColumn();
                grid.AddRow(Cli.Row("id", id.Id.ToString()));
                grid.AddRow(Cli.Row("name", id.Name));
                grid.AddRow(Cli.Row("aip", id.AipId));
                grid.AddRow(Cli.Row("did", id.DidKey));
                grid.AddRow(Cli.Row("public key", Convert.ToHexStringLower(id.PublicKey.Span)));
                grid.AddRow(Cli.Row("key file", file));
                Cli.Out.Write(grid);
            }

            return Cli.Ok;
        }));

        var list = new Command("list", "List the agents in the key store.") { json, home };
        list.SetAction(p => Cli.Run(() =>
        {
            var store = new AgentKeyStore(Cli.Home(p.GetValue(home)));
            var agents = store.List();
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(agents.Select(a => new { id = a.Id, name = a.Name, aip_id = a.AipId }), Cli.Json));
                return Cli.Ok;
            }

            if (agents.Count == 0)
            {
                Console.WriteLine($"No agents in {store.AgentsPath}. Create one: aim identity create --agent <name>");
                return Cli.Ok;
            }

            var table = new Table().AddColumns("name", "id", "aip id");
            foreach (var agent in agents)
            {
                table.AddRow(Cli.Row(agent.Name, agent.Id.ToString(), agent.AipId));
            }

            Cli.Out.Write(table);
            return Cli.Ok;
        }));

        return new Command("identity", "Agent identities in the local key store.") { create, show, list };
    }
}
