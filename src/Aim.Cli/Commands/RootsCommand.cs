using System.CommandLine;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary><c>aim roots list|add|remove</c>: the organization's trusted roots for delegation chains on an Aim server.</summary>
internal static class RootsCommand
{
    public static Command Create()
    {
        var server = ServerConnection.ServerOption();
        var keyFile = ServerConnection.ApiKeyFileOption();
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var identifier = new Argument<string>("identifier") { Description = "An aip:key:ed25519:z... identifier, or aip:web:<domain>/<path> with --public-key." };
        var publicKey = new Option<string?>("--public-key") { Description = "The pinned Ed25519 key of an aip:web root (base64url); the server never fetches keys." };
        var label = new Option<string?>("--label") { Description = "A note for people (who the root is)." };
        var idOrIdentifier = new Argument<string>("root") { Description = "The root's id or identifier." };

        var list = new Command("list", "List the trusted roots.") { server, keyFile, json };
        list.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var items = c.Get("api/v1/trusted-roots")["items"]!.AsArray();
            if (p.GetValue(json))
            {
                ServerConnection.PrintJson(items);
                return Cli.Ok;
            }

            var table = new Table().AddColumns("identifier", "label", "id", "created", "by");
            foreach (var r in items)
            {
                table.AddRow(Cli.Row(AgentsCommand.S(r, "identifier"), AgentsCommand.S(r, "label"), AgentsCommand.S(r, "id"), AgentsCommand.S(r, "created"), AgentsCommand.S(r, "created_by")));
            }

            Cli.Out.Write(table);
            return Cli.Ok;
        }));

        var add = new Command("add", "Trust delegation chains rooted at an identity.") { identifier, publicKey, label, server, keyFile };
        add.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var r = c.Post("api/v1/trusted-roots", new { identifier = p.GetValue(identifier), public_key = p.GetValue(publicKey), label = p.GetValue(label) });
            Console.WriteLine($"Trusted {AgentsCommand.S(r, "identifier")} ({AgentsCommand.S(r, "id")}).");
            return Cli.Ok;
        }));

        var remove = new Command("remove", "Stop trusting a root (takes effect with the next request).") { idOrIdentifier, server, keyFile };
        remove.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var r = c.Delete($"api/v1/trusted-roots/{ServerConnection.Escape(p.GetValue(idOrIdentifier)!)}");
            Console.WriteLine($"Removed {AgentsCommand.S(r, "identifier")}.");
            return Cli.Ok;
        }));

        return new Command("roots", "Trusted roots of delegation chains on an Aim server (--server <url> --api-key-file <file>).") { list, add, remove };
    }
}
