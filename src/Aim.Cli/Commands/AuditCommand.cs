using System.CommandLine;
using System.Text;
using System.Text.Json;
using Aim.Audit;
using Aim.Identity;
using Spectre.Console;

namespace Aim.Cli.Commands;

/// <summary><c>aim audit verify|tail|show|proof|tree-head</c>: read and check a signed Merkle audit log.</summary>
internal static class AuditCommand
{
    public static Command Create(IEnumerable<Command>? serverCommands = null)
    {
        var home = new Option<string?>("--home") { Description = "Key store directory (default: AIM_HOME, then ~/.aim)." };
        var log = new Option<string?>("--log") { Description = "The audit log file (default: <home>/audit/<agent>.db with --agent)." };
        var agent = new Option<string?>("--agent") { Description = "The agent whose default audit log to use." };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var signer = new Option<string[]>("--signer")
        {
            Description = "An aip:key:ed25519:z... id allowed to sign entries (repeatable). Default with --agent: that agent's key; with --log alone: any valid signature.",
            AllowMultipleArgumentsPerToken = false,
        };
        var treeHead = new Option<FileInfo?>("--tree-head") { Description = "A signed tree head saved earlier (JSON); the log must still contain it (detects truncation)." };
        var count = new Option<int>("-n", "--count") { Description = "How many entries.", DefaultValueFactory = _ => 10 };
        var index = new Option<long>("--index") { Description = "The entry's index.", Required = true };
        var treeSize = new Option<long?>("--tree-size") { Description = "The tree size to prove against (default: the latest)." };

        var server = new Option<string?>("--server") { Description = "Use the Aim server's log (entries are downloaded and checked here) instead of a local file." };
        var keyFile = new Option<FileInfo?>("--api-key-file") { Description = "With --server: a file holding an auditor (or admin) API key." };
        var verify = new Command("verify", "Verify every entry's signature, the Merkle tree and every signed tree head (a local log, or the server's with --server). Exit 0 when intact, 1 with the first bad entry otherwise.")
        {
            log, agent, home, treeHead, signer, server, keyFile, json,
        };
        verify.SetAction(p => Cli.Run(() =>
        {
            if (p.GetValue(server) is { } serverUrl)
            {
                return ServerAuditCommands.Verify(serverUrl, p.GetValue(keyFile) ?? throw new AimConfigurationException("--server needs --api-key-file."), p.GetValue(treeHead), p.GetValue(json));
            }

            string path = ResolveLog(p.GetValue(log), p.GetValue(agent), p.GetValue(home));
            SignedTreeHead? trusted = null;
            if (p.GetValue(treeHead) is { } file)
            {
                trusted = SignedTreeHead.FromJson(File.ReadAllText(file.FullName));
            }

            var result = AuditVerifier.VerifyFile(path, trusted, TrustedSigners(p.GetValue(signer), p.GetValue(agent), p.GetValue(home)));
            if (p.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    valid = result.IsValid,
                    entries = result.EntriesChecked,
                    first_bad_index = result.FirstBadIndex,
                    reason = result.ReasonCode,
                    message = result.Message,
                    tree_size = result.LatestHead?.TreeSize,
                }, Cli.Json));
            }
            else if (result.IsValid)
            {
                Console.WriteLine($"OK: {result.EntriesChecked} entries verified in {path}" +
                    (result.LatestHead is { } head ? $"; tree head size {head.TreeSize}, root {Convert.ToHexStringLower(head.RootHash)}" : string.Empty));
            }
            else
            {
                Console.WriteLine($"TAMPERED: first bad entry at index {result.FirstBadIndex?.ToString() ?? "?"}: {result.ReasonCode}: {result.Message}");
            }

            return result.IsValid ? Cli.Ok : Cli.Negative;
        }));

        var tail = new Command("tail", "Print the last entries.") { log, agent, home, count, json };
        tail.SetAction(p => Cli.Run(() =>
        {
            using var opened = Open(p.GetValue(log), p.GetValue(agent), p.GetValue(home));
            long total = opened.Log.Count;
            int n = Math.Max(1, p.GetValue(count));
            long from = Math.Max(0, total - n);
            var entries = opened.Log.Read(from, (int)Math.Min(n, total - from));
            if (p.GetValue(json))
            {
                foreach (var entry in entries)
                {
                    Console.WriteLine(Encoding.UTF8.GetString(entry.CanonicalBytes));
                }

                return Cli.Ok;
            }

            var table = new Table().AddColumns("#", "time", "agent", "kind", "capability", "risk", "decision", "reason / outcome");
            foreach (var e in entries)
            {
                var r = e.Record;
                table.AddRow(Cli.Row(
                    e.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    e.Time.ToString("u", System.Globalization.CultureInfo.InvariantCulture),
                    r.AgentName,
                    r.Kind.ToString().ToLowerInvariant(),
                    r.Capability,
                    r.Risk.ToString().ToLowerInvariant(),
                    r.Decision,
                    r.ReasonCode ?? r.Outcome ?? string.Empty));
            }

            Cli.Out.Write(table);
            Console.WriteLine($"{total} entries in {opened.Log.Path}");
            return Cli.Ok;
        }));

        var show = new Command("show", "Print one entry as its signed canonical JSON.") { log, agent, home, index };
        show.SetAction(p => Cli.Run(() =>
        {
            using var opened = Open(p.GetValue(log), p.GetValue(agent), p.GetValue(home));
            var entry = opened.Log.Get(p.GetValue(index));
            if (entry is null)
            {
                Console.Error.WriteLine($"aim: audit_entry_not_found: no entry {p.GetValue(index)} (the log has {opened.Log.Count}).");
                return Cli.Negative;
            }

            Console.WriteLine(Encoding.UTF8.GetString(entry.CanonicalBytes));
            return Cli.Ok;
        }));

        var proof = new Command("proof", "Print an entry's inclusion proof and check it against a signed tree head (a local log, or the server's with --server; --tree-head pins a head saved earlier).")
        {
            log, agent, home, index, treeSize, treeHead, server, keyFile, json,
        };
        proof.SetAction(p => Cli.Run(() =>
        {
            if (p.GetValue(server) is { } serverUrl)
            {
                var apiKey = p.GetValue(keyFile) ?? throw new AimConfigurationException("--server needs --api-key-file.");
                return ServerAuditCommands.Proof(serverUrl, apiKey, p.GetValue(index), p.GetValue(treeSize), p.GetValue(json), p.GetValue(treeHead));
            }

            using var opened = Open(p.GetValue(log), p.GetValue(agent), p.GetValue(home));
            var head = opened.Log.CreateTreeHead();
            long size = p.GetValue(treeSize) ?? head.TreeSize;
            long i = p.GetValue(index);
            var entry = opened.Log.Get(i);
            if (entry is null || i >= size)
            {
                Console.Error.WriteLine($"aim: audit_entry_not_found: no entry {i} in a tree of size {size}.");
                return Cli.Negative;
            }

            var inclusion = opened.Log.GetInclusionProof(i, size);
            bool ok = size != head.TreeSize || InclusionProof.Verify(entry.LeafHash, inclusion, head.RootHash);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                leaf_index = inclusion.LeafIndex,
                tree_size = inclusion.TreeSize,
                leaf_hash = Convert.ToHexStringLower(entry.LeafHash),
                path = inclusion.Path.Select(Convert.ToHexStringLower).ToArray(),
                tree_head = JsonDocument.Parse(head.ToJson()).RootElement,
                verified = ok,
            }, Cli.Json));
            return ok ? Cli.Ok : Cli.Negative;
        }));

        var sth = new Command("tree-head", "Sign and print the current tree head (or print the server's with --server); keep it to detect a later truncation or rewrite (aim audit verify --tree-head).") { log, agent, home, server, keyFile };
        sth.SetAction(p => Cli.Run(() =>
        {
            if (p.GetValue(server) is { } serverUrl)
            {
                return ServerAuditCommands.TreeHead(serverUrl, p.GetValue(keyFile) ?? throw new AimConfigurationException("--server needs --api-key-file."));
            }

            using var opened = Open(p.GetValue(log), p.GetValue(agent), p.GetValue(home));
            Console.WriteLine(opened.Log.CreateTreeHead().ToJson());
            return Cli.Ok;
        }));

        var audit = new Command("audit", "The signed Merkle audit log (local file, or the Aim server's with query/proof --server).") { verify, tail, show, proof, sth };
        foreach (var command in serverCommands ?? [])
        {
            audit.Add(command);
        }

        return audit;
    }

    /// <summary>The keys allowed to sign entries: the --signer ids, else the agent's own key, else any (null).</summary>
    private static List<byte[]>? TrustedSigners(string[]? signers, string? agent, string? home)
    {
        if (signers is { Length: > 0 })
        {
            var keys = new List<byte[]>(signers.Length);
            foreach (var id in signers)
            {
                if (!AgentIdentity.TryPublicKeyFromAipId(id, out var publicKey))
                {
                    throw new AimConfigurationException($"--signer '{id}' is not an aip:key:ed25519:z... identifier.");
                }

                keys.Add(publicKey);
            }

            return keys;
        }

        if (agent is null)
        {
            return null;
        }

        var store = new AgentKeyStore(Cli.Home(home));
        using var key = store.Load(agent);
        return [key.Identity.PublicKey.ToArray()];
    }

    private static string ResolveLog(string? log, string? agent, string? home)
    {
        if (log is not null)
        {
            if (!File.Exists(log))
            {
                throw new AimConfigurationException($"No audit log at {Path.GetFullPath(log)}.");
            }

            return log;
        }

        if (agent is null)
        {
            throw new AimConfigurationException("Give --log <file> or --agent <name>.");
        }

        string path = Aim.Engine.EmbeddedEngine.DefaultAuditLogPath(Cli.Home(home), agent);
        return File.Exists(path) ? path : throw new AimConfigurationException($"No audit log for agent '{agent}' at {path}.");
    }

    private static OpenedLog Open(string? log, string? agent, string? home)
    {
        string path = ResolveLog(log, agent, home);
        var store = new AgentKeyStore(Cli.Home(home));
        var logKey = store.LoadOrCreateLogKey();
        try
        {
            return new OpenedLog(AuditLog.Open(path, logKey.KeyPair), logKey);
        }
        catch
        {
            logKey.Dispose();
            throw;
        }
    }

    private sealed record OpenedLog(AuditLog Log, AgentKey LogKey) : IDisposable
    {
        public void Dispose()
        {
            Log.Dispose();
            LogKey.Dispose();
        }
    }
}
