using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Aim.Audit;
using Aim.Crypto;
using Aim.Identity;
using Aim.Json;

namespace Aim.Server.Tests;

/// <summary>
/// The server's audit log is tampered with in the database while the server is down, then the server restarts: each
/// kind of tampering is reported by <c>GET /audit/verify</c> after the restart, and by <c>aim audit verify --server</c>
/// given a tree head saved before the tampering, which checks everything on the client side. On SQLite and PostgreSQL.
/// </summary>
public sealed class AuditRestartTamperTests
{
    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var backend in Tests.Backends.All)
            {
                foreach (var kind in new[] { "none", "rewrite_entry_and_leaf", "swap_rows_fixing_indexes", "truncate_tail", "roll_back_to_earlier_head", "delete_row_and_renumber", "agent_entry_resigned_with_another_key",
                    "truncate_tail_keeping_head", "delete_middle_row", "malformed_entry", "roll_back_database_and_ledger" })
                {
                    data.Add(backend, kind);
                }
            }

            return data;
        }
    }

    // What each tampering must be reported as: by the restarted server, and by the offline verifier with the saved head.
    private static readonly Dictionary<string, (string[] Server, string[] Offline)> Expected = new()
    {
        ["rewrite_entry_and_leaf"] = ([AuditReasonCodes.RootMismatch], [AuditReasonCodes.RootMismatch]),
        ["swap_rows_fixing_indexes"] = ([AuditReasonCodes.RootMismatch], [AuditReasonCodes.RootMismatch]),
        ["truncate_tail"] = ([AuditReasonCodes.TreeHeadInvalid, AuditReasonCodes.Truncated], [AuditReasonCodes.Truncated]),
        ["roll_back_to_earlier_head"] = ([AuditReasonCodes.Truncated], [AuditReasonCodes.Truncated]),
        ["delete_row_and_renumber"] = ([AuditReasonCodes.TreeHeadInvalid, AuditReasonCodes.Truncated], [AuditReasonCodes.RootMismatch, AuditReasonCodes.Truncated]),
        ["agent_entry_resigned_with_another_key"] = ([AuditReasonCodes.SignerUntrusted], [AuditReasonCodes.SignerUntrusted]),
        ["truncate_tail_keeping_head"] = ([AuditReasonCodes.Truncated], [AuditReasonCodes.Truncated]),
        ["delete_middle_row"] = ([AuditReasonCodes.Truncated], [AuditReasonCodes.EntryDeleted]),
        ["malformed_entry"] = ([AuditReasonCodes.EntryModified], [AuditReasonCodes.EntryModified]),
        // The documented limit: a consistent rollback of the database together with the server's own ledger leaves the
        // server nothing to compare with; only a head saved elsewhere catches it.
        ["roll_back_database_and_ledger"] = ([], [AuditReasonCodes.Truncated]),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Tampering_is_detected_after_a_restart_and_offline_from_a_saved_head(string backend, string kind)
    {
        string data = TestDirectories.Create("aim-tamper").FullName;
        string adminKey = "aim_test_" + Guid.NewGuid().ToString("N");
        string? pg = backend == "postgres" ? Tests.Backends.NewPostgresDatabase() : null;
        string keyFile = Path.Combine(data, "..", Path.GetFileName(data) + "-auditor.key");
        string savedHead = Path.Combine(data, "..", Path.GetFileName(data) + "-saved-head.json");
        string org;
        long snapshotSize;
        (long Size, byte[] Root, byte[] Frontier, long Time, byte[] Sig) snapshot;
        long size;

        await using (var server = await ServerHarness.StartAsync(backend, dataDirectory: data, postgres: pg, adminKey: adminKey))
        {
            using var admin = server.Admin();
            var auditorKey = (await admin.PostAsync("api/v1/api-keys", new { name = "offline-auditor", role = "auditor" })).Expect(HttpStatusCode.Created).Json["key"]!.GetValue<string>();
            await File.WriteAllTextAsync(keyFile, auditorKey + "\n");
            using var agent = new AgentClient(server.Url, "worker");
            (await agent.RegisterAsync(admin.ApiKey)).Expect(HttpStatusCode.Created);
            (await admin.PostAsync($"api/v1/agents/{agent.Id}/grants", new { capabilities = new[] { "db:read" } })).Expect(HttpStatusCode.OK);
            for (int i = 0; i < 6; i++)
            {
                (await HardeningTests.SignedAppendAsync(agent, HardeningTests.Record(agent))).Expect(HttpStatusCode.Created);
            }

            org = (await Db.QueryAsync(server, "SELECT id FROM orgs WHERE name = 'default'", r => r.GetString(0)))[0];
            snapshot = (await Db.QueryAsync(server, "SELECT size, root, frontier, head_time, head_sig FROM audit_heads WHERE org_id = @o",
                r => (r.GetInt64(0), (byte[])r.GetValue(1), (byte[])r.GetValue(2), r.GetInt64(3), (byte[])r.GetValue(4)), ("@o", org)))[0];
            snapshotSize = snapshot.Size;
            for (int i = 0; i < 3; i++)
            {
                (await HardeningTests.SignedAppendAsync(agent, HardeningTests.Record(agent))).Expect(HttpStatusCode.Created);
            }

            // The auditor saves the current head, outside the server's reach.
            var (code, saved, err) = await AimAsync("audit", "tree-head", "--server", server.Url.ToString(), "--api-key-file", keyFile);
            Assert.True(code == 0, err);
            await File.WriteAllTextAsync(savedHead, saved);
            size = SignedTreeHead.FromJson(saved.Trim()).TreeSize;
            Assert.Equal(snapshotSize + 3, size);
        }

        await TamperAsync(kind, backend, data, pg, org, size, snapshot);

        await using (var restarted = await ServerHarness.StartAsync(backend, dataDirectory: data, postgres: pg, adminKey: adminKey))
        {
            using var auditor = new AdminClient(restarted.Url, (await File.ReadAllTextAsync(keyFile)).Trim());
            var verdict = (await auditor.GetAsync("api/v1/audit/verify")).Expect(HttpStatusCode.OK).Json;
            var (code, output, error) = await AimAsync("audit", "verify", "--server", restarted.Url.ToString(), "--api-key-file", keyFile, "--tree-head", savedHead, "--json");
            var offlineVerdict = JsonNode.Parse(output)!;
            var (proofCode, proofOut, proofErr) = await AimAsync("audit", "proof", "--server", restarted.Url.ToString(), "--api-key-file", keyFile, "--index", "1", "--tree-head", savedHead);
            if (kind == "none")
            {
                Assert.True(verdict["valid"]!.GetValue<bool>(), verdict.ToJsonString());
                Assert.True(code == 0, output + error);
                Assert.True(offlineVerdict["valid"]!.GetValue<bool>());
                Assert.True(proofCode == 0, proofOut + proofErr);
                return;
            }

            if (Expected[kind].Server.Length == 0)
            {
                Assert.True(verdict["valid"]!.GetValue<bool>(), verdict.ToJsonString());
                Assert.True(proofCode != 0, $"the pinned proof must fail: {proofOut}");
                Assert.Contains("saved head", proofOut, StringComparison.Ordinal);
            }
            else
            {
                Assert.False(verdict["valid"]!.GetValue<bool>(), $"{kind}: {verdict.ToJsonString()}");
                Assert.Contains(verdict["reason_code"]!.GetValue<string>(), Expected[kind].Server);
            }

            Assert.True(code == 1, $"{kind}: exit {code}: {output} {error}");
            Assert.False(offlineVerdict["valid"]!.GetValue<bool>());
            Assert.Contains(offlineVerdict["reason"]!.GetValue<string>(), Expected[kind].Offline);
        }
    }

    private static async Task TamperAsync(string kind, string backend, string data, string? pg, string org, long size, (long Size, byte[] Root, byte[] Frontier, long Time, byte[] Sig) snapshot)
    {
        var db = new Db(backend, data, pg);
        var rows = await db.QueryAsync("SELECT idx, body FROM audit_entries WHERE org_id = @o ORDER BY idx", r => (Index: r.GetInt64(0), Body: (byte[])r.GetValue(1)), ("@o", org));
        Assert.Equal(size, rows.Count);
        JsonObject Parse(int i) => (JsonObject)JsonNode.Parse(rows[i].Body)!;
        async Task WriteAsync(long index, JsonObject entry)
        {
            var body = CanonicalJson.Serialize(entry);
            Assert.Equal(1, await db.ExecAsync("UPDATE audit_entries SET body = @b, leaf = @l WHERE org_id = @o AND idx = @i",
                ("@b", body), ("@l", MerkleHash.Leaf(body)), ("@o", org), ("@i", index)));
        }

        switch (kind)
        {
            case "none":
                break;
            case "rewrite_entry_and_leaf":
            {
                // The grant event (a server entry: no signature to break) now grants something else.
                int grant = Enumerable.Range(0, rows.Count).First(i => Parse(i)["record"]!["event"]?.GetValue<string>() == "agent.granted");
                var entry = Parse(grant);
                entry["record"]!["detail"] = "db:read db:write payment:*";
                await WriteAsync(grant, entry);
                break;
            }

            case "swap_rows_fixing_indexes":
            {
                var (a, b) = (Parse(3), Parse(5));
                (a["index"], b["index"]) = (5, 3);
                await WriteAsync(5, a);
                await WriteAsync(3, b);
                break;
            }

            case "truncate_tail":
                await db.ExecAsync("DELETE FROM audit_entries WHERE org_id = @o AND idx >= @n", ("@o", org), ("@n", size - 2));
                await db.ExecAsync("UPDATE audit_heads SET size = @n WHERE org_id = @o", ("@n", size - 2), ("@o", org));
                break;
            case "truncate_tail_keeping_head":
                await db.ExecAsync("DELETE FROM audit_entries WHERE org_id = @o AND idx >= @n", ("@o", org), ("@n", size - 2));
                break;
            case "delete_middle_row":
                Assert.Equal(1, await db.ExecAsync("DELETE FROM audit_entries WHERE org_id = @o AND idx = 4", ("@o", org)));
                break;
            case "malformed_entry":
            {
                var garbage = "{\"type\":\"aim-server-audit/1\",\"index\":"u8.ToArray();
                Assert.Equal(1, await db.ExecAsync("UPDATE audit_entries SET body = @b, leaf = @l WHERE org_id = @o AND idx = 4",
                    ("@b", garbage), ("@l", MerkleHash.Leaf(garbage)), ("@o", org)));
                break;
            }

            case "roll_back_database_and_ledger":
                File.Delete(Path.Combine(data, "audit-heads.jsonl"));
                goto case "roll_back_to_earlier_head";
            case "roll_back_to_earlier_head":
                // A consistent earlier state, as a database backup would hold it: entries, subtree hashes and signed head.
                await db.ExecAsync("DELETE FROM audit_entries WHERE org_id = @o AND idx >= @n", ("@o", org), ("@n", snapshot.Size));
                for (int level = 1; level < 62; level++)
                {
                    // Subtree (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level): gone unless inside the earlier tree.
                    await db.ExecAsync("DELETE FROM audit_nodes WHERE org_id = @o AND level = @l AND idx >= @i", ("@o", org), ("@l", (long)level), ("@i", snapshot.Size >> level));
                }

                await db.ExecAsync("UPDATE audit_heads SET size = @n, root = @r, frontier = @f, head_time = @t, head_sig = @s WHERE org_id = @o",
                    ("@n", snapshot.Size), ("@r", snapshot.Root), ("@f", snapshot.Frontier), ("@t", snapshot.Time), ("@s", snapshot.Sig), ("@o", org));
                break;
            case "delete_row_and_renumber":
            {
                const int Victim = 2;
                await db.ExecAsync("DELETE FROM audit_entries WHERE org_id = @o AND idx = @i", ("@o", org), ("@i", (long)Victim));
                for (int i = Victim + 1; i < rows.Count; i++)
                {
                    var entry = Parse(i);
                    entry["index"] = i - 1;
                    var body = CanonicalJson.Serialize(entry);
                    Assert.Equal(1, await db.ExecAsync("UPDATE audit_entries SET idx = @n, body = @b, leaf = @l WHERE org_id = @o AND idx = @i",
                        ("@n", (long)(i - 1)), ("@b", body), ("@l", MerkleHash.Leaf(body)), ("@o", org), ("@i", (long)i)));
                }

                await db.ExecAsync("UPDATE audit_heads SET size = size - 1 WHERE org_id = @o", ("@o", org));
                break;
            }

            case "agent_entry_resigned_with_another_key":
            {
                int target = Enumerable.Range(0, rows.Count).First(i => Parse(i)["source"]!.GetValue<string>() == "agent");
                var entry = Parse(target);
                using var attacker = Ed25519KeyPair.Generate();
                var record = (JsonObject)entry["record"]!;
                record["outcome"] = "error";
                record["decision"] = "deny";
                entry["record_sig"] = System.Buffers.Text.Base64Url.EncodeToString(attacker.Sign(CanonicalJson.Serialize(record)));
                entry["agent_key"] = AgentIdentity.AipIdOf(attacker.PublicKey);
                await WriteAsync(target, entry);
                break;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>Runs the aim tool built beside the tests.</summary>
    internal static async Task<(int ExitCode, string Out, string Err)> AimAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "aim.dll"));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["AIM_HOME"] = TestDirectories.Create("aim-cli-home").FullName;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Direct access to the server's database (the attacker's view), SQLite or PostgreSQL.</summary>
    internal sealed class Db(string backend, string data, string? postgres)
    {
        public static Task<List<T>> QueryAsync<T>(ServerHarness server, string sql, Func<System.Data.Common.DbDataReader, T> map, params (string, object?)[] parameters) =>
            new Db(server.Postgres is null ? "sqlite" : "postgres", server.DataDirectory, server.Postgres).QueryAsync(sql, map, parameters);

        public async Task<List<T>> QueryAsync<T>(string sql, Func<System.Data.Common.DbDataReader, T> map, params (string Name, object? Value)[] parameters)
        {
            await using var connection = await OpenAsync();
            await using var command = Command(connection, sql, parameters);
            await using var reader = await command.ExecuteReaderAsync();
            var list = new List<T>();
            while (await reader.ReadAsync())
            {
                list.Add(map(reader));
            }

            return list;
        }

        public async Task<int> ExecAsync(string sql, params (string Name, object? Value)[] parameters)
        {
            await using var connection = await OpenAsync();
            await using var command = Command(connection, sql, parameters);
            return await command.ExecuteNonQueryAsync();
        }

        private async Task<System.Data.Common.DbConnection> OpenAsync()
        {
            System.Data.Common.DbConnection connection = backend == "postgres"
                ? new Npgsql.NpgsqlConnection(postgres)
                : new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "aim.db")};Pooling=False");
            await connection.OpenAsync();
            return connection;
        }

        private static System.Data.Common.DbCommand Command(System.Data.Common.DbConnection connection, string sql, (string Name, object? Value)[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                var p = command.CreateParameter();
                p.ParameterName = name;
                p.Value = value ?? DBNull.Value;
                command.Parameters.Add(p);
            }

            return command;
        }
    }
}
