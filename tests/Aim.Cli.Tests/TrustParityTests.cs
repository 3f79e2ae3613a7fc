using System.Text.Json;

namespace Aim.Cli.Tests;

/// <summary>
/// <c>aim trust</c> against the runtime's own score for the same agent: equal when the CLI is given what lives in the
/// agent's code (grants, assembly, host allow-list); otherwise it names what it cannot see and never scores unknown
/// grants as least privilege.
/// </summary>
public sealed class TrustParityTests : IDisposable
{
    private readonly AimCli _aim = new();

    public void Dispose() => _aim.Dispose();

    [Fact]
    public async Task With_every_code_input_given_the_cli_score_equals_the_runtime_score()
    {
        double runtime = await RunAgentAsync(hosts: ["api.example.com"]);
        var (code, output, err) = _aim.Run(
            "trust", "--agent", "parity-agent", "--json",
            "--grant", "db:read@users_*", "--grant", "email:send", "--grant", "payment:refund",
            "--assembly", typeof(ParityTools).Assembly.Location,
            "--allowed-host", "api.example.com");

        Assert.True(code == 0, err);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(Math.Round(runtime, 4), root.GetProperty("score").GetDouble());
        Assert.Empty(root.GetProperty("unseen").EnumerateArray());
    }

    [Fact]
    public async Task Without_the_code_inputs_the_cli_names_them_and_gives_a_range_around_the_runtime_score()
    {
        double runtime = await RunAgentAsync(hosts: []);
        var (code, output, _) = _aim.Run("trust", "--agent", "parity-agent", "--json");

        Assert.Equal(0, code);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("score").ValueKind);
        Assert.Equal(["capabilities", "skills_verified"], root.GetProperty("unseen").EnumerateArray().Select(u => u.GetString()!).ToArray());
        Assert.InRange(Math.Round(runtime, 4), root.GetProperty("score_min").GetDouble(), root.GetProperty("score_max").GetDouble());
        var capabilities = root.GetProperty("factors").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "capabilities");
        Assert.Equal(JsonValueKind.Null, capabilities.GetProperty("value").ValueKind);
        Assert.Contains("--grant", capabilities.GetProperty("explanation").GetString(), StringComparison.Ordinal);

        var (_, text, _) = _aim.Run("trust", "--agent", "parity-agent");
        Assert.Contains("cannot see capabilities and skills_verified", text, StringComparison.Ordinal);
        Assert.DoesNotContain("least privilege", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_assembly_without_a_manifest_is_refused_with_its_name()
    {
        Assert.Equal(0, _aim.Run("identity", "create", "--agent", "parity-agent").ExitCode);
        var (code, _, err) = _aim.Run("trust", "--agent", "parity-agent", "--assembly", typeof(AimCli).Assembly.Location.Replace("Aim.Cli.Tests.dll", "Aim.Core.dll"));
        Assert.Equal(2, code);
        Assert.Contains("Aim.Core.dll has no [SecureAction] catalog", err, StringComparison.Ordinal);
    }

    /// <summary>The quick start's agent shape: three grants in code, secured calls through the generated interceptors.</summary>
    private async Task<double> RunAgentAsync(string[] hosts)
    {
        double score;
        await using (var agent = AimAgent.Secure("parity-agent", o =>
        {
            o.Home = _aim.Home;
            o.Grant("db:read@users_*", "email:send", "payment:refund");
            foreach (var host in hosts)
            {
                o.AllowedHosts.Add(host);
            }
        }))
        {
            var tools = new ParityTools();
            Assert.Equal(2, tools.CountUsers());
            Assert.Throws<ActionDeniedException>(() => tools.DeleteUser("u-1"));
            score = agent.GetTrustScore().Score;
        }

        return score;
    }
}

/// <summary>Secured actions compiled with the generator: the runtime's catalog and this assembly's manifest both list them.</summary>
public sealed class ParityTools
{
    [SecureAction("db:read", Resource = "users_table")]
    public int CountUsers() => 2;

    [SecureAction("email:send")]
    public string SendEmail(string to) => "sent to " + to;

    [SecureAction("user:delete", JitAccess = true)]
    public void DeleteUser(string id) => throw new InvalidOperationException("a denied call must never run its body: " + id);
}
