using System.Text.Json;
using System.Text.RegularExpressions;

namespace Aim.Cli.Tests;

/// <summary>One agent flag, group commands that list their subcommands, snake_case JSON, messages without .NET text.</summary>
public sealed partial class ConsistencyTests : IDisposable
{
    private readonly AimCli _aim = new();

    public void Dispose() => _aim.Dispose();

    [Theory]
    [InlineData("--agent")]
    [InlineData("--name")]
    public void Identity_and_trust_take_the_agent_flag_and_keep_the_old_spelling(string flag)
    {
        Assert.Equal(0, _aim.Run("identity", "create", flag, "flag-bot").ExitCode);
        var (show, output, _) = _aim.Run("identity", "show", flag, "flag-bot", "--json");
        Assert.Equal(0, show);
        Assert.Equal("flag-bot", JsonDocument.Parse(output).RootElement.GetProperty("name").GetString());
        var (trust, trustOutput, _) = _aim.Run("trust", flag, "flag-bot", "--json");
        Assert.Equal(0, trust);
        Assert.Equal("flag-bot", JsonDocument.Parse(trustOutput).RootElement.GetProperty("agent").GetString());
    }

    [Fact]
    public void Every_command_that_names_an_agent_spells_the_flag_agent()
    {
        foreach (var command in new[] { new[] { "identity", "create" }, ["identity", "show"], ["trust"], ["audit", "tail"], ["token", "mint"], ["token", "delegate"] })
        {
            var (code, help, _) = _aim.Run([.. command, "--help"]);
            Assert.Equal(0, code);
            Assert.Contains("--agent", help, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new string[0], new[] { "identity", "trust", "audit", "token", "agents" })]
    [InlineData(new[] { "identity" }, new[] { "create", "show", "list" })]
    [InlineData(new[] { "audit" }, new[] { "verify", "tail", "show", "proof", "tree-head" })]
    [InlineData(new[] { "token" }, new[] { "mint", "delegate", "verify", "inspect" })]
    [InlineData(new[] { "agents", "policy" }, new string[0])]
    public void A_group_run_alone_lists_its_subcommands(string[] group, string[] subcommands)
    {
        var (code, output, err) = _aim.Run(group);
        if (subcommands.Length == 0)
        {
            // Not a group: a command with an argument still fails as a usage error.
            Assert.Equal(2, code);
            Assert.Contains("aim: usage:", err);
            return;
        }

        Assert.Equal(0, code);
        Assert.Contains("Commands:", output, StringComparison.Ordinal);
        foreach (var sub in subcommands)
        {
            Assert.Matches(new Regex(@"^\s+" + Regex.Escape(sub) + @"\s", RegexOptions.Multiline), output);
        }
    }

    [Fact]
    public void Json_output_uses_snake_case_and_no_escaped_plus()
    {
        Assert.Equal(0, _aim.Run("identity", "create", "--agent", "json-bot").ExitCode);
        string id = JsonDocument.Parse(_aim.Run("identity", "show", "--agent", "json-bot", "--json").Out).RootElement.GetProperty("aip_id").GetString()!;
        var (mint, token, mintErr) = _aim.Run("token", "mint", "--agent", "json-bot", "--sub", id, "--scope", "tool:search");
        Assert.True(mint == 0, mintErr);
        var (inspect, inspected, _) = _aim.Run("token", "inspect", token.Trim());
        Assert.Equal(0, inspect);
        Assert.Contains("\"typ\": \"aip+jwt\"", inspected, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", inspected, StringComparison.Ordinal);

        var outputs = new[]
        {
            inspected,
            _aim.Run("identity", "show", "--agent", "json-bot", "--json").Out,
            _aim.Run("identity", "list", "--json").Out,
            _aim.Run("risk", "payment:refund", "--json").Out,
            _aim.Run("trust", "--agent", "json-bot", "--json").Out,
            _aim.Run("token", "verify", token.Trim(), "--trusted-key", id, "--json").Out,
            _aim.Run("capabilities", typeof(ParityTools).Assembly.Location).Out,
        };
        foreach (var json in outputs)
        {
            foreach (var name in PropertyNames(JsonDocument.Parse(json).RootElement))
            {
                Assert.Matches("^[a-z][a-z0-9_]*$", name);
            }
        }
    }

    [Theory]
    [InlineData("token", "mint", "--agent", "p-bot", "--sub", "not-an-aip-id", "--scope", "tool:x")]
    [InlineData("token", "mint", "--agent", "p-bot", "--sub", "aip:key:ed25519:zzz", "--scope", "")]
    [InlineData("token", "mint", "--agent", "p-bot", "--sub", "aip:key:ed25519:zzz", "--scope", "tool:x", "--max-depth", "many")]
    [InlineData("token", "inspect", "a.b.c")]
    [InlineData("token", "inspect", "%%%not-a-token%%%")]
    [InlineData("identity", "create", "--agent", "../escape")]
    [InlineData("identity", "show", "--agent", "")]
    [InlineData("trust", "--agent", "nobody-here")]
    [InlineData("trust", "--agent", "nobody-here", "--assembly", "/no/such.dll")]
    public void Refusals_are_one_line_with_a_code_and_no_dotnet_text(params string[] args)
    {
        var (code, output, err) = _aim.Run(args);
        Assert.Equal(2, code);
        Assert.Matches(@"^aim: [a-z_]+: \S", err);
        foreach (var leak in new[] { "(Parameter", "Exception", "   at ", "System.", "Int32" })
        {
            Assert.DoesNotContain(leak, err + output, StringComparison.Ordinal);
        }
    }

    private static IEnumerable<string> PropertyNames(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in element.EnumerateObject())
            {
                yield return p.Name;
                foreach (var inner in PropertyNames(p.Value))
                {
                    yield return inner;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var inner in PropertyNames(item))
                {
                    yield return inner;
                }
            }
        }
    }
}
