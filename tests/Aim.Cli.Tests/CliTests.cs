using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Aim.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private static readonly ActionDescriptor Read = new("db:read", method: "CliTests.Read()");
    private static readonly ActionDescriptor Delete = new("user:delete", method: "CliTests.Delete()");

    private readonly AimCli _aim = new();

    public void Dispose() => _aim.Dispose();

    [Fact]
    public void Identity_create_prints_the_aip_id_and_writes_a_private_key_file()
    {
        var (code, output, _) = _aim.Run("identity", "create", "--name", "billing-bot");

        Assert.Equal(0, code);
        Assert.Matches("^aip:key:ed25519:z[1-9A-HJ-NP-Za-km-z]{40,50}$", output.Trim());
        string file = Path.Combine(_aim.Home, "agents", "billing-bot.json");
        Assert.True(File.Exists(file));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public void Identity_show_json_has_every_form_and_never_the_private_key()
    {
        _aim.Run("identity", "create", "--name", "viewer");
        var (code, output, _) = _aim.Run("identity", "show", "--name", "viewer", "--json");

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.StartsWith("aip:key:ed25519:z", doc.RootElement.GetProperty("aip_id").GetString());
        Assert.StartsWith("did:key:z6Mk", doc.RootElement.GetProperty("did").GetString());
        string seed = JsonDocument.Parse(File.ReadAllText(Path.Combine(_aim.Home, "agents", "viewer.json"))).RootElement.GetProperty("seed").GetString()!;
        Assert.DoesNotContain(seed, output);
    }

    [Fact]
    public void Creating_an_existing_identity_fails_and_keeps_the_key()
    {
        _aim.Run("identity", "create", "--name", "dup");
        string file = Path.Combine(_aim.Home, "agents", "dup.json");
        string before = File.ReadAllText(file);

        var (code, _, err) = _aim.Run("identity", "create", "--name", "dup");

        Assert.Equal(2, code);
        Assert.Contains("aim_keystore", err);
        Assert.Equal(before, File.ReadAllText(file));
    }

    [Fact]
    public void Corrupt_key_file_is_reported_with_its_path_and_left_untouched()
    {
        Directory.CreateDirectory(Path.Combine(_aim.Home, "agents"));
        string file = Path.Combine(_aim.Home, "agents", "broken.json");
        File.WriteAllText(file, "{ not json");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var (code, _, err) = _aim.Run("identity", "show", "--name", "broken");

        Assert.Equal(2, code);
        Assert.Contains(file, err);
        Assert.Equal("{ not json", File.ReadAllText(file));
    }

    [Theory]
    [InlineData("payment:refund", "critical")]
    [InlineData("db:read", "low")]
    [InlineData("email:send", "high")]
    [InlineData("weather:fetch", "low")]
    [InlineData("crm:update", "medium")]
    public void Risk_prints_the_detected_level(string capability, string level)
    {
        var (code, output, _) = _aim.Run("risk", capability, "--json");
        Assert.Equal(0, code);
        Assert.Equal(level, JsonDocument.Parse(output).RootElement.GetProperty("risk").GetString());
    }

    [Theory]
    [InlineData("identity", "create")]
    [InlineData("audit", "verify", "--no-such-option")]
    [InlineData("no-such-command")]
    public void Usage_errors_exit_2_not_1(params string[] args)
    {
        var (code, _, err) = _aim.Run(args);
        Assert.Equal(2, code);
        Assert.Contains("aim: usage:", err);
    }

    [Fact]
    public void Risk_refuses_a_malformed_capability_with_its_code()
    {
        var (code, _, err) = _aim.Run("risk", "Payment Refund");
        Assert.Equal(2, code);
        Assert.Contains("aim_capability_malformed", err);
    }

    [Fact]
    public async Task Audit_verify_exits_0_for_an_intact_log_and_1_with_the_index_of_a_modified_entry()
    {
        string log = await WriteLogAsync();
        var (ok, okOut, _) = _aim.Run("audit", "verify", "--log", log);
        Assert.Equal(0, ok);
        Assert.Contains("OK: 6 entries", okOut);

        using (var connection = new SqliteConnection($"Data Source={log};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE entries SET body = replace(body, 'db:read', 'db:drop') WHERE idx = 2";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        var (bad, badOut, _) = _aim.Run("audit", "verify", "--log", log, "--json");
        Assert.Equal(1, bad);
        using var doc = JsonDocument.Parse(badOut);
        Assert.False(doc.RootElement.GetProperty("valid").GetBoolean());
        Assert.Equal(2, doc.RootElement.GetProperty("first_bad_index").GetInt64());
    }

    [Fact]
    public async Task Audit_verify_with_an_agent_or_signer_requires_entries_signed_by_that_key()
    {
        string log = await WriteLogAsync();
        var agentId = new Aim.Identity.AgentKeyStore(_aim.Home).Load("cli-agent").Identity.AipId;
        Assert.Equal(0, _aim.Run("audit", "verify", "--agent", "cli-agent", "--home", _aim.Home).ExitCode);
        Assert.Equal(0, _aim.Run("audit", "verify", "--log", log, "--signer", agentId).ExitCode);

        using var stranger = Aim.Crypto.Ed25519KeyPair.Generate();
        var strangerId = Aim.Identity.AgentIdentity.AipIdOf(stranger.PublicKey);
        var (bad, output, _) = _aim.Run("audit", "verify", "--log", log, "--signer", strangerId, "--json");
        Assert.Equal(1, bad);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("signer_untrusted", doc.RootElement.GetProperty("reason").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("first_bad_index").GetInt64());

        var (usage, _, err) = _aim.Run("audit", "verify", "--log", log, "--signer", "not-an-id");
        Assert.NotEqual(0, usage);
        Assert.Contains("--signer", err);
    }

    [Fact]
    public async Task Audit_verify_detects_truncation_against_a_saved_tree_head()
    {
        string log = await WriteLogAsync();
        var (code, head, _) = _aim.Run("audit", "tree-head", "--log", log);
        Assert.Equal(0, code);
        string headFile = Path.Combine(_aim.Home, "head.json");
        File.WriteAllText(headFile, head);

        using (var connection = new SqliteConnection($"Data Source={log};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM entries WHERE idx >= 4; DELETE FROM nodes WHERE level = 0 AND idx >= 4; DELETE FROM heads;";
            command.ExecuteNonQuery();
        }

        File.Delete(log + ".heads");
        var (bad, output, _) = _aim.Run("audit", "verify", "--log", log, "--tree-head", headFile);
        Assert.Equal(1, bad);
        Assert.Contains("truncated", output);
    }

    [Fact]
    public async Task Audit_tail_show_and_proof_read_the_log()
    {
        string log = await WriteLogAsync();

        var (tailCode, tail, _) = _aim.Run("audit", "tail", "--log", log, "-n", "2", "--json");
        Assert.Equal(0, tailCode);
        Assert.Equal(2, tail.Trim().Split('\n').Length);

        var (showCode, show, _) = _aim.Run("audit", "show", "--log", log, "--index", "0");
        Assert.Equal(0, showCode);
        Assert.Equal(0, JsonDocument.Parse(show).RootElement.GetProperty("index").GetInt64());

        var (proofCode, proof, _) = _aim.Run("audit", "proof", "--log", log, "--index", "3");
        Assert.Equal(0, proofCode);
        Assert.True(JsonDocument.Parse(proof).RootElement.GetProperty("verified").GetBoolean());

        var (missing, _, _) = _aim.Run("audit", "show", "--log", log, "--index", "99");
        Assert.Equal(1, missing);
    }

    [Fact]
    public async Task Trust_reports_eight_weighted_factors()
    {
        await WriteLogAsync();
        var (code, output, _) = _aim.Run("trust", "--name", "cli-agent", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var factors = doc.RootElement.GetProperty("factors").EnumerateArray().ToList();
        Assert.Equal(8, factors.Count);
        Assert.Equal(1.0, factors.Sum(f => f.GetProperty("weight").GetDouble()), 6);
        Assert.Contains(factors, f => f.GetProperty("name").GetString() == "audit_log" && f.GetProperty("value").GetDouble() == 1.0);
    }

    /// <summary>Writes a real audit log through the runtime: 2 allowed actions (authorized + outcome each) and 2 denials.</summary>
    private async Task<string> WriteLogAsync()
    {
        var engine = Aim.Engine.EmbeddedEngine.Create(new AimOptions { AgentName = "cli-agent", Home = _aim.Home }.Grant("db:read"));
        await using var runtime = new AimRuntime(engine);
        runtime.Invoke(Read, null, () => 1);
        runtime.Invoke(Read, null, () => 2);
        Assert.Throws<ActionDeniedException>(() => runtime.Invoke(Delete, null, () => { }));
        Assert.Throws<ActionDeniedException>(() => runtime.Invoke(Delete, null, () => { }));
        string path = engine.AuditLog.Path;
        await runtime.DisposeAsync();
        return path;
    }
}
