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

    /// <summary>
    /// <c>aim audit proof --server ...</c>: fetch the signed tree head and an inclusion proof and verify both locally. With
    /// <paramref name="savedHead"/> (a head saved earlier) the current head must be signed by the same log key and a
    /// consistency proof must show it extends the saved one; an entry inside the saved head is proven against it.
    /// </summary>
    public static int Proof(string serverUrl, FileInfo keyFile, long i, long? treeSize, bool json, FileInfo? savedHead = null)
    {
        using var c = ServerConnection.Open(serverUrl, keyFile);
        var head = SignedTreeHead.FromJson(c.GetText("api/v1/audit/tree-head"));
        var saved = savedHead is null ? null : ReadSavedHead(savedHead);
        long size = treeSize ?? head.TreeSize;
        if (size != head.TreeSize && (saved is null || size != saved.TreeSize))
        {
            throw new AimException("tree_size_mismatch", $"The server's current signed tree head has size {head.TreeSize}; prove against that size, the saved head's, or omit --tree-size.");
        }

        var pinned = PinAgainst(c, saved, head);
        var against = saved is not null && size == saved.TreeSize ? saved : head;
        var entries = c.Get($"api/v1/audit/entries?from={i}&limit=1")["items"]!.AsArray();
        if (entries.Count == 0 || entries[0]!["index"]!.GetValue<long>() != i)
        {
            throw new AimException("not_found", $"No entry {i}.");
        }

        var body = Base64Url.DecodeFromChars(entries[0]!["body"]!.GetValue<string>());
        var leaf = MerkleHash.Leaf(body);
        var path = c.Get($"api/v1/audit/proofs/inclusion?index={i}&tree_size={size}")["path"]!.AsArray()
            .Select(x => Base64Url.DecodeFromChars(x!.GetValue<string>())).ToList();
        bool headOk = head.VerifySignature();
        bool included = i < size && InclusionProof.Verify(leaf, new InclusionProof(i, size, path), against.RootHash);
        bool ok = headOk && included && pinned is null;
        if (json)
        {
            ServerConnection.PrintJson(new System.Text.Json.Nodes.JsonObject
            {
                ["index"] = i,
                ["tree_size"] = size,
                ["tree_head_signature_valid"] = headOk,
                ["included"] = included,
                ["saved_head_consistent"] = saved is null ? null : pinned is null,
                ["problem"] = pinned,
                ["root"] = Convert.ToHexStringLower(against.RootHash),
                ["log_key"] = Convert.ToHexStringLower(head.LogPublicKey),
            });
        }
        else
        {
            Console.WriteLine(ok
                ? $"OK: entry {i} is in the signed tree of size {size} (root {Convert.ToHexStringLower(against.RootHash)}, log key {Convert.ToHexStringLower(head.LogPublicKey)})"
                    + (saved is null ? string.Empty : $"; the current head extends the saved head of size {saved.TreeSize}")
                : $"FAILED: tree head signature {(headOk ? "valid" : "INVALID")}, inclusion {(included ? "valid" : "INVALID")}" + (pinned is null ? string.Empty : $", saved head: {pinned}"));
        }

        return ok ? Cli.Ok : Cli.Negative;
    }

    /// <summary><c>aim audit tree-head --server ...</c>: print the server's current signed tree head (save it to pin later checks).</summary>
    public static int TreeHead(string serverUrl, FileInfo keyFile)
    {
        using var c = ServerConnection.Open(serverUrl, keyFile);
        var head = SignedTreeHead.FromJson(c.GetText("api/v1/audit/tree-head"));
        if (!head.VerifySignature())
        {
            throw new AimException(AuditReasonCodes.TreeHeadInvalid, "The server's tree head is not validly signed.");
        }

        Console.WriteLine(head.ToJson());
        return Cli.Ok;
    }

    /// <summary>
    /// <c>aim audit verify --server ... [--tree-head saved.json]</c>: downloads every entry and checks the log here, trusting
    /// nothing the server computed: each entry's bytes, index and (agent entries) signature by a key the server lists for
    /// that agent; the root recomputed from the bytes against the saved head (pinning its log key) and the current head.
    /// </summary>
    public static int Verify(string serverUrl, FileInfo keyFile, FileInfo? savedHead, bool json)
    {
        using var c = ServerConnection.Open(serverUrl, keyFile);
        var saved = savedHead is null ? null : ReadSavedHead(savedHead);
        SignedTreeHead? head = null;
        string? refusal = null;
        try
        {
            head = SignedTreeHead.FromJson(c.GetText("api/v1/audit/tree-head"));
        }
        catch (AimException ex) when (ex.Code == "audit_log_inconsistent")
        {
            // The server found its own log inconsistent and signs nothing: the entries are still checked against the saved head.
            refusal = ex.Message;
        }

        var (valid, count, code, index, message) = VerifyEntries(c, head, saved);
        if (valid && refusal is not null)
        {
            (valid, code, message) = (false, "audit_log_inconsistent", "The server refuses to sign a head for its log: " + refusal);
        }

        if (json)
        {
            ServerConnection.PrintJson(new System.Text.Json.Nodes.JsonObject
            {
                ["valid"] = valid,
                ["entries"] = count,
                ["first_bad_index"] = index,
                ["reason"] = code,
                ["message"] = message,
                ["tree_size"] = head?.TreeSize,
                ["saved_tree_size"] = saved?.TreeSize,
            });
        }
        else if (valid)
        {
            Console.WriteLine($"OK: {count} entries verified locally against the server's signed head (size {head!.TreeSize}, root {Convert.ToHexStringLower(head.RootHash)})"
                + (saved is null ? string.Empty : $" and the saved head of size {saved.TreeSize}"));
        }
        else
        {
            Console.WriteLine($"TAMPERED: first bad entry at index {index?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}: {code}: {message}");
        }

        return valid ? Cli.Ok : Cli.Negative;
    }

    private static SignedTreeHead ReadSavedHead(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new AimConfigurationException($"The saved tree head {file.FullName} does not exist.");
        }

        return SignedTreeHead.FromJson(File.ReadAllText(file.FullName).Trim());
    }

    /// <summary>Null when <paramref name="head"/> is signed by the saved head's log key and provably extends it; else why not.</summary>
    private static string? PinAgainst(ServerConnection c, SignedTreeHead? saved, SignedTreeHead head)
    {
        if (saved is null)
        {
            return null;
        }

        if (!saved.VerifySignature())
        {
            return "the saved head is not validly signed";
        }

        if (!saved.LogPublicKey.AsSpan().SequenceEqual(head.LogPublicKey) || !head.VerifySignature())
        {
            return "the server's head is not signed by the saved head's log key";
        }

        if (head.TreeSize < saved.TreeSize)
        {
            return $"the server's log ({head.TreeSize} entries) is shorter than the saved head ({saved.TreeSize}): truncated";
        }

        var path = c.Get($"api/v1/audit/proofs/consistency?old_size={saved.TreeSize}&new_size={head.TreeSize}")["path"]!.AsArray()
            .Select(x => Base64Url.DecodeFromChars(x!.GetValue<string>())).ToList();
        return ConsistencyProof.Verify(saved.RootHash, head.RootHash, new ConsistencyProof(saved.TreeSize, head.TreeSize, path))
            ? null
            : "the server's log does not extend the saved head (the consistency proof fails)";
    }

    private sealed record AgentKey(string AgentId, string AgentName, byte[] PublicKey, DateTimeOffset Created, DateTimeOffset? NotAfter);

    private static (bool Valid, long Count, string? Code, long? Index, string? Message) VerifyEntries(ServerConnection c, SignedTreeHead? head, SignedTreeHead? saved)
    {
        if (head is not null && !head.VerifySignature())
        {
            return (false, 0, AuditReasonCodes.TreeHeadInvalid, null, "The server's current tree head is not validly signed.");
        }

        if (saved is not null && (!saved.VerifySignature() || (head is not null && !saved.LogPublicKey.AsSpan().SequenceEqual(head.LogPublicKey))))
        {
            return (false, 0, AuditReasonCodes.TreeHeadInvalid, null, "The server's tree head is not signed by the saved head's log key (or the saved head is not validly signed).");
        }

        var keys = new Dictionary<string, AgentKey>(StringComparer.Ordinal);
        foreach (var a in c.Get("api/v1/agents")["items"]!.AsArray())
        {
            string id = a!["id"]!.GetValue<string>();
            var agent = c.Get($"api/v1/agents/{ServerConnection.Escape(id)}");
            foreach (var k in agent["keys"]!.AsArray())
            {
                string keyId = k!["key_id"]!.GetValue<string>();
                if (Aim.Identity.AgentIdentity.TryPublicKeyFromAipId(keyId, out var pk))
                {
                    keys[keyId] = new AgentKey(id, agent["name"]!.GetValue<string>(), pk, Time(k["created"])!.Value, Time(k["not_after"]));
                }
            }
        }

        var frontier = new MerkleFrontier();
        while (true)
        {
            var page = c.Get($"api/v1/audit/entries?from={frontier.Size}&limit=1000");
            var items = page["items"]!.AsArray();
            foreach (var item in items)
            {
                long index = item!["index"]!.GetValue<long>();
                if (index != frontier.Size)
                {
                    return (false, frontier.Size, AuditReasonCodes.EntryDeleted, frontier.Size, $"Entry {frontier.Size} is missing (the server served {index} next).");
                }

                var body = Base64Url.DecodeFromChars(item["body"]!.GetValue<string>());
                if (CheckEntry(body, index, keys) is { } problem)
                {
                    return (false, frontier.Size, problem.Code, index, problem.Message);
                }

                frontier.Append(MerkleHash.Leaf(body));
                if (saved is not null && frontier.Size == saved.TreeSize
                    && !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(frontier.Root(), saved.RootHash))
                {
                    return (false, frontier.Size, AuditReasonCodes.RootMismatch, null, $"The first {saved.TreeSize} entries the server serves do not hash to the saved head's root: they were changed, moved or removed since it was saved.");
                }
            }

            if (items.Count == 0 || page["next_from"] is null)
            {
                break;
            }
        }

        if (saved is not null && frontier.Size < saved.TreeSize)
        {
            return (false, frontier.Size, AuditReasonCodes.Truncated, frontier.Size, $"The server serves {frontier.Size} entries but the saved head covers {saved.TreeSize}: entries were removed.");
        }

        if (head is not null && (frontier.Size != head.TreeSize || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(frontier.Root(), head.RootHash)))
        {
            return (false, frontier.Size, frontier.Size < head.TreeSize ? AuditReasonCodes.Truncated : AuditReasonCodes.RootMismatch, null,
                $"The {frontier.Size} entries the server serves do not hash to its own signed head (size {head.TreeSize}).");
        }

        return (true, frontier.Size, null, null, null);
    }

    private static (string Code, string Message)? CheckEntry(byte[] body, long index, Dictionary<string, AgentKey> keys)
    {
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(body) is not System.Text.Json.Nodes.JsonObject entry || (long?)entry["index"] != index
                || entry["record"] is not System.Text.Json.Nodes.JsonObject record || (string?)entry["type"] != "aim-server-audit/1")
            {
                return (AuditReasonCodes.EntryModified, $"Entry {index} is not a well-formed server audit entry at this index.");
            }

            if ((string?)entry["source"] != "agent")
            {
                return (string?)entry["source"] == "server" && entry["record_sig"] is null ? null : (AuditReasonCodes.EntryModified, $"Entry {index} has an unknown source.");
            }

            if ((string?)entry["agent_key"] is not { } keyId || !keys.TryGetValue(keyId, out var key))
            {
                return (AuditReasonCodes.SignerUntrusted, $"Entry {index} names a key the server lists for no agent.");
            }

            var time = DateTimeOffset.Parse((string)entry["time"]!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
            if ((string?)record["agent_name"] != key.AgentName || ((string?)entry["agent_id"] is { } id && id != key.AgentId)
                || time < key.Created || (key.NotAfter is { } until && time > until.AddMinutes(1)))
            {
                return (AuditReasonCodes.SignerUntrusted, $"Entry {index} is signed by a key that was not its agent's registered key at the entry's time.");
            }

            var sig = Base64Url.DecodeFromChars((string?)entry["record_sig"] ?? string.Empty);
            return Aim.Crypto.Ed25519.Verify(key.PublicKey, Aim.Json.CanonicalJson.Serialize(record), sig)
                ? null
                : (AuditReasonCodes.EntrySignatureInvalid, $"The agent signature of entry {index} does not verify under its agent's registered key.");
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return (AuditReasonCodes.EntryModified, $"Entry {index} is malformed.");
        }
    }

    private static DateTimeOffset? Time(System.Text.Json.Nodes.JsonNode? node) =>
        node is null ? null : DateTimeOffset.Parse(node.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
}
