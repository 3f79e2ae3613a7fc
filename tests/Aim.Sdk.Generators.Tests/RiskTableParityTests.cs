using Aim.Capabilities;

namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// The generator keeps its own copy of the runtime's capability rules (it targets netstandard2.0 and
/// cannot reference Aim.Core). These tests compare the copies entry by entry so they never drift.
/// </summary>
public sealed class RiskTableParityTests
{
    public static TheoryData<string> Tables => new() { "namespaces", "actions", "specific" };

    private static (IReadOnlyDictionary<string, Risk> Mine, IReadOnlyDictionary<string, RiskLevel> Runtime) Pick(string table) => table switch
    {
        "namespaces" => (CapabilityRules.Namespaces, RiskTables.Namespaces),
        "actions" => (CapabilityRules.Actions, RiskTables.Actions),
        _ => (CapabilityRules.Specific, RiskTables.Specific),
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public void Generator_table_matches_the_runtime_table_entry_by_entry(string table)
    {
        var (mine, runtime) = Pick(table);

        Assert.Equal(runtime.Count, mine.Count);
        foreach (var (name, level) in runtime)
        {
            Assert.True(mine.TryGetValue(name, out Risk copy), $"{table}: '{name}' missing from the generator's copy");
            Assert.Equal((int)level, (int)copy);
        }
    }

    public static IEnumerable<object[]> Capabilities()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        string[] unknown = ["widget", "x", "zz_top", "read2"];
        foreach (string ns in RiskTables.Namespaces.Keys.Concat(RiskTables.Actions.Keys).Concat(unknown))
        {
            foreach (string action in RiskTables.Actions.Keys.Concat(RiskTables.Namespaces.Keys).Concat(unknown))
            {
                names.Add(ns + ":" + action);
            }
        }

        names.UnionWith(RiskTables.Specific.Keys);
        return names.Order(StringComparer.Ordinal).Select(n => new object[] { n });
    }

    [Fact]
    public void Detected_level_matches_the_runtime_classifier_for_every_combination()
    {
        foreach (object[] row in Capabilities())
        {
            string capability = (string)row[0];
            Assert.True((int)RiskClassifier.Classify(capability).Level == (int)CapabilityRules.Detect(capability), capability);
        }
    }

    [Theory]
    [InlineData("db:read")]
    [InlineData("a:b")]
    [InlineData("a1_-:b-2_")]
    [InlineData("Db:read")]
    [InlineData("db:Read")]
    [InlineData("db")]
    [InlineData("db:")]
    [InlineData(":read")]
    [InlineData("db::read")]
    [InlineData("db:read:x")]
    [InlineData("1db:read")]
    [InlineData("db:_read")]
    [InlineData("db:-read")]
    [InlineData("db: read")]
    [InlineData("db:read ")]
    [InlineData("db:réad")]
    [InlineData("db:re\u0000ad")]
    [InlineData("")]
    [InlineData(null)]
    public void Syntax_check_matches_the_runtime(string? capability)
    {
        Assert.Equal(Capability.IsValid(capability), CapabilityRules.IsWellFormed(capability));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(65)]
    public void Part_length_limit_matches_the_runtime(int length)
    {
        string ns = "a" + new string('b', length - 1);
        Assert.Equal(Capability.IsValid(ns + ":read"), CapabilityRules.IsWellFormed(ns + ":read"));
        Assert.Equal(Capability.IsValid("db:" + ns), CapabilityRules.IsWellFormed("db:" + ns));
    }

    [Theory]
    [InlineData("*", "db:read", true)]
    [InlineData("db:*", "db:read", true)]
    [InlineData("*:read", "db:read", true)]
    [InlineData("db:read@users_*", "db:read", true)]
    [InlineData("db:write", "db:read", false)]
    [InlineData("file:*", "db:read", false)]
    [InlineData("*:write", "db:read", false)]
    public void Grant_matching_matches_the_runtime(string grant, string capability, bool expected)
    {
        Assert.Equal(expected, CapabilityRules.GrantCovers(grant, capability));
        Assert.Equal(expected, CapabilityGrant.Parse(grant).Matches(Capability.Parse(capability)));
    }
}
