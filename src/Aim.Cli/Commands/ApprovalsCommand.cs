using System.CommandLine;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary><c>aim approvals list|approve|deny</c>: decide pending JIT approvals on an Aim server.</summary>
internal static class ApprovalsCommand
{
    public static Command Create()
    {
        var server = ServerConnection.ServerOption();
        var keyFile = ServerConnection.ApiKeyFileOption();
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var status = new Option<string>("--status") { Description = "pending (default), approved, denied or all.", DefaultValueFactory = _ => "pending" };
        var id = new Argument<string>("id") { Description = "The approval (verification) id." };
        var reason = new Option<string?>("--reason") { Description = "Why (recorded with the decision and in the audit log)." };
        var denyReason = new Option<string>("--reason") { Description = "Why the action is denied (required).", Required = true };

        var list = new Command("list", "List approvals (pending ones by default).") { server, keyFile, status, json };
        list.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var items = c.Get($"api/v1/approvals?status={ServerConnection.Escape(p.GetValue(status)!)}")["items"]!.AsArray();
            if (p.GetValue(json))
            {
                ServerConnection.PrintJson(items);
                return Cli.Ok;
            }

            // "why": a step-up's evidence (the approver must see why a check was not sure), else the action's own JIT flag.
            var table = new Table().AddColumns("id", "agent", "capability", "resource", "risk", "status", "expires", "why");
            foreach (var a in items)
            {
                string why = a?["evidence"] is System.Text.Json.Nodes.JsonObject evidence
                    ? $"{AgentsCommand.S(evidence, "step")} step-up: {AgentsCommand.S(evidence, "reason")} {evidence.ToJsonString()}"
                    : "JIT";
                table.AddRow(Cli.Row(AgentsCommand.S(a, "id"), AgentsCommand.S(a, "agent_id"), AgentsCommand.S(a, "capability"), AgentsCommand.S(a, "resource"),
                    AgentsCommand.S(a, "risk"), AgentsCommand.S(a, "status"), AgentsCommand.S(a, "expires"), why));
            }

            Cli.Out.Write(table);
            return Cli.Ok;
        }));

        var approve = new Command("approve", "Approve a pending action; the waiting agent proceeds.") { id, server, keyFile, reason };
        approve.SetAction(p => Cli.Run(() => Decide(p.GetValue(server)!, p.GetValue(keyFile)!, p.GetValue(id)!, "approve", p.GetValue(reason))));
        var deny = new Command("deny", "Deny a pending action; the waiting agent gets ActionDeniedException.") { id, server, keyFile, denyReason };
        deny.SetAction(p => Cli.Run(() => Decide(p.GetValue(server)!, p.GetValue(keyFile)!, p.GetValue(id)!, "deny", p.GetValue(denyReason))));
        return new Command("approvals", "JIT approvals on an Aim server (--server <url> --api-key-file <file>).") { list, approve, deny };
    }

    private static int Decide(string server, FileInfo keyFile, string id, string verb, string? reason)
    {
        using var c = ServerConnection.Open(server, keyFile);
        var r = c.Post($"api/v1/approvals/{ServerConnection.Escape(id)}/{verb}", new { reason });
        Console.WriteLine($"{AgentsCommand.S(r, "id")}: {AgentsCommand.S(r, "status")} by {AgentsCommand.S(r, "decided_by")} ({AgentsCommand.S(r, "capability")})");
        return Cli.Ok;
    }
}
