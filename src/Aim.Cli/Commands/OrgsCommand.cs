using System.CommandLine;

namespace Aim.Cli.Commands;

/// <summary><c>aim orgs compat ORG on|off|status [--server-keys]</c>: organization settings on an Aim server.</summary>
internal static class OrgsCommand
{
    public static Command Create()
    {
        var server = ServerConnection.ServerOption();
        var keyFile = ServerConnection.ApiKeyFileOption();
        var org = new Argument<string>("org") { Description = "The organization (its name or id; an admin key manages its own organization)." };
        var state = new Argument<string>("state") { Description = "on, off, or status (show the setting)." };
        state.AcceptOnlyFromAmong("on", "off", "status");
        var serverKeys = new Option<bool>("--server-keys")
        {
            Description = "With 'on': AIM's API-key registration may generate the agent's key pair on the server and return its private key once (the server then held the key; see docs/server.md).",
        };
        var json = new Option<bool>("--json") { Description = "Print JSON." };

        var compat = new Command("compat", "AIM wire compatibility: let agents written with AIM's own SDKs use this server (off by default).") { org, state, serverKeys, server, keyFile, json };
        compat.SetAction(p => Cli.Run(() =>
        {
            string s = p.GetValue(state)!;
            bool keys = p.GetValue(serverKeys);
            if (keys && s != "on")
            {
                throw new AimConfigurationException("--server-keys goes with 'on'.");
            }

            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            string path = $"api/v1/orgs/{ServerConnection.Escape(p.GetValue(org)!)}/compat";
            var r = s == "status" ? c.Get(path) : c.Put(path, new { enabled = s == "on", server_keys = keys });
            if (p.GetValue(json))
            {
                ServerConnection.PrintJson(r);
                return Cli.Ok;
            }

            bool enabled = r["enabled"]?.GetValue<bool>() == true, allowed = r["server_keys"]?.GetValue<bool>() == true;
            Console.WriteLine($"{AgentsCommand.S(r, "org")}: AIM wire compatibility {(enabled ? "on" : "off")}"
                + (enabled ? allowed ? " (server-generated agent keys allowed)" : " (agents bring their own keys)" : string.Empty));
            return Cli.Ok;
        }));

        return new Command("orgs", "Organization settings on an Aim server (--server <url> --api-key-file <file>).") { compat };
    }
}
