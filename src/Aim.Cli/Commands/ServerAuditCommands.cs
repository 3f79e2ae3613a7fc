using System.Buffers.Text;
using System.CommandLine;
using Aim.Audit;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary><c>aim audit query|proof --server ...</c>: read an Aim server's audit log and check inclusion proofs locally.</summary>
internal static class ServerAuditCommands
{
    public static IEnumerable<Command> Create()
    {
        var server = ServerConnection.ServerOption();
        var keyFile = ServerConnection.ApiKeyFileOption();
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var agent = new Option<string?>("--agent") { Description = "Only this agent (name or id)." };
        var capability = new Option<string?>("--capability") { Description = "Only this capability." };
        var kind = new Option<string?>("--kind") { Description = "authorized, denied, outcome or event." };
        var decision = new Option<string?>("--decision") { Description = "allow or deny." };
        var from = new Option<long>("--from") { Description = "First index.", DefaultValueFactory = _ => 0 };
        var limit = new Option<int>("--limit") { Description = "At most this many entries (1-1000).", DefaultValueFactory = _ => 50 };

        var query = new Command("query", "Query the server's audit log with filters and pages.") { server, keyFile, agent, capability, kind, decision, from, limit, json };
        query.SetAction(p => Cli.Run(() =>
        {
            using var c = ServerConnection.Open(p.GetValue(server)!, p.GetValue(keyFile)!);
            var q = $"api/v1/audit/entries?from={p.GetValue(from)}&limit={p.GetValue(limit)}";
            foreach (var (name, value) in new[] { ("agent", p.GetValue(agent)), ("capability", p.GetValue(capability)), ("kind", p.GetValue(kind)), ("decision", p.GetValue(decision)) })
            {
                if (value is not null)
                {
                    q += $"&{name}={ServerConnection.Escape(value)}";
                }
            }

            var page = c.Get(q);
            if (p.GetValue(json))
            {
                ServerConnection.PrintJson(page);
                return Cli.Ok;
            }

            var table = new Table().AddColumns("index", "time", "kind", "capability", "decision", "agent");
            foreach (var e in page["items"]!.AsArray())
            {
                table.AddRow(Cli.Row(AgentsCommand.S(e, "index"), AgentsCommand.S(e, "time"), AgentsCommand.S(e, "kind"), AgentsCommand.S(e, "capability"),
                    AgentsCommand.S(e, "decision"), AgentsCommand.S(e, "agent_id")));
            }

            Cli.Out.Write(table);
            if (page["next_from"] is { } next)
            {
                Console.WriteLine($"more: --from {next}");
            }

            return Cli.Ok;
        }));

        return [query];
    }

    /// <summary><c>aim audit proof --server ...</c>: fetch the signed tree head and an inclusion proof and verify both locally.</summary>
    public static int Proof(string serverUrl, FileInfo keyFile, long i, long? treeSize, bool json)
    {
        {
            using var c = ServerConnection.Open(serverUrl, keyFile);
            var head = SignedTreeHead.FromJson(c.GetText("api/v1/audit/tree-head"));
            long size = treeSize ?? head.TreeSize;
            if (size != head.TreeSize)
            {
                throw new AimException("tree_size_mismatch", $"The server's current signed tree head has size {head.TreeSize}; prove against that size or omit --tree-size.");
            }

            var entries = c.Get($"api/v1/audit/entries?from={i}&limit=1")["items"]!.AsArray();
            if (entries.Count == 0 || entries[0]!["index"]!.GetValue<long>() != i)
            {
                throw new AimException("not_found", $"No entry {i}.");
            }

            var body = Base64Url.DecodeFromChars(entries[0]!["body"]!.GetValue<string>());
            var leaf = LeafHash(body);
            var path = c.Get($"api/v1/audit/proofs/inclusion?index={i}&tree_size={size}")["path"]!.AsArray()
                .Select(x => Base64Url.DecodeFromChars(x!.GetValue<string>())).ToList();
            bool headOk = head.VerifySignature();
            bool included = InclusionProof.Verify(leaf, new InclusionProof(i, size, path), head.RootHash);
            if (json)
            {
                ServerConnection.PrintJson(new System.Text.Json.Nodes.JsonObject
                {
                    ["index"] = i,
                    ["tree_size"] = size,
                    ["tree_head_signature_valid"] = headOk,
                    ["included"] = included,
                    ["root"] = Convert.ToHexStringLower(head.RootHash),
                    ["log_key"] = Convert.ToHexStringLower(head.LogPublicKey),
                });
            }
            else
            {
                Console.WriteLine(headOk && included
                    ? $"OK: entry {i} is in the signed tree of size {size} (root {Convert.ToHexStringLower(head.RootHash)}, log key {Convert.ToHexStringLower(head.LogPublicKey)})"
                    : $"FAILED: tree head signature {(headOk ? "valid" : "INVALID")}, inclusion {(included ? "valid" : "INVALID")}");
            }

            return headOk && included ? Cli.Ok : Cli.Negative;
        }
    }

    private static byte[] LeafHash(byte[] entry)
    {
        var data = new byte[entry.Length + 1];
        entry.CopyTo(data, 1);
        return System.Security.Cryptography.SHA256.HashData(data);
    }
}
