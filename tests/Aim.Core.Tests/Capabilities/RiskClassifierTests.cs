using Aim.Capabilities;

namespace Aim.Core.Tests.Capabilities;

public class RiskClassifierTests
{
    // The expected tables are written out here independently of RiskTables so a table edit fails a test.
    public static TheoryData<string, RiskLevel> ExpectedNamespaces() => Table(
        (RiskLevel.Critical, "payment admin system billing finance"),
        (RiskLevel.High, "email notification sms user auth secret credential"),
        (RiskLevel.Medium, "db database file storage cache"),
        (RiskLevel.Low, "api weather search geocode translate time math util"));

    public static TheoryData<string, RiskLevel> ExpectedActions() => Table(
        (RiskLevel.Low, "read fetch get list search query view check validate verify count exists"),
        (RiskLevel.Medium, "write update create modify edit set save upload import"),
        (RiskLevel.High, "delete remove send execute run invoke call export download transfer move revoke suspend disable block"),
        (RiskLevel.Critical, "process refund charge pay approve admin impersonate escalate purge destroy drop truncate wipe terminate"));

    public static TheoryData<string, RiskLevel> ExpectedSpecific() => Table(
        (RiskLevel.Critical, "user:delete user:impersonate user:admin db:admin db:drop file:execute system:exec system:admin"),
        (RiskLevel.High, "auth:reset_password auth:change_password api:external db:delete file:delete network:listen network:external"),
        (RiskLevel.Medium, "auth:login api:webhook db:write file:write network:connect mcp:tool_use system:read"),
        (RiskLevel.Low, "auth:logout api:call db:read db:query file:read network:read mcp:resource_read"));

    [Theory]
    [MemberData(nameof(ExpectedNamespaces))]
    public void Every_namespace_entry_decides_alone(string ns, RiskLevel level)
    {
        Assert.Equal(level, RiskTables.Namespaces[ns]);
        // An unknown action leaves the namespace alone in charge.
        Assert.Equal(new RiskAssessment(level, "namespace"), RiskClassifier.Classify(ns + ":zzz_unknown"));
    }

    [Theory]
    [MemberData(nameof(ExpectedActions))]
    public void Every_action_entry_decides_alone(string action, RiskLevel level)
    {
        Assert.Equal(level, RiskTables.Actions[action]);
        // An unknown namespace leaves the action in charge (action-only rule, before the medium default).
        Assert.Equal(new RiskAssessment(level, "action"), RiskClassifier.Classify("zzz_unknown:" + action));
    }

    [Theory]
    [MemberData(nameof(ExpectedSpecific))]
    public void Every_specific_entry_wins_over_the_tables(string capability, RiskLevel level)
    {
        Assert.Equal(level, RiskTables.Specific[capability]);
        Assert.Equal(new RiskAssessment(level, "specific"), RiskClassifier.Classify(capability));
        Assert.Equal(new RiskAssessment(level, "specific"), RiskClassifier.Classify(Capability.Parse(capability)));
    }

    [Fact]
    public void Tables_have_exactly_the_listed_entries()
    {
        Assert.Equal(ExpectedNamespaces().Count, RiskTables.Namespaces.Count);
        Assert.Equal(ExpectedActions().Count, RiskTables.Actions.Count);
        Assert.Equal(ExpectedSpecific().Count, RiskTables.Specific.Count);
    }

    [Theory]
    [InlineData("payment:refund", RiskLevel.Critical)] // critical, critical
    [InlineData("payment:read", RiskLevel.Critical)] // namespace higher
    [InlineData("weather:delete", RiskLevel.High)] // action higher
    [InlineData("email:send", RiskLevel.High)]
    [InlineData("api:refund", RiskLevel.Critical)]
    [InlineData("storage:read", RiskLevel.Medium)]
    [InlineData("cache:get", RiskLevel.Medium)]
    [InlineData("weather:get", RiskLevel.Low)]
    [InlineData("user:read", RiskLevel.High)]
    [InlineData("db:update", RiskLevel.Medium)] // not in the specific table
    [InlineData("db:truncate", RiskLevel.Critical)]
    public void Known_namespace_and_action_take_the_higher_level(string capability, RiskLevel level)
    {
        Assert.Equal(new RiskAssessment(level, "max(namespace,action)"), RiskClassifier.Classify(capability));
    }

    [Fact]
    public void Specific_entry_overrides_the_max_rule()
    {
        // db (medium) and read (low) would give medium; the specific table says low.
        Assert.Equal(new RiskAssessment(RiskLevel.Low, "specific"), RiskClassifier.Classify("db:read"));
        // user (high) and delete (high) would give high; the specific table says critical.
        Assert.Equal(new RiskAssessment(RiskLevel.Critical, "specific"), RiskClassifier.Classify("user:delete"));
        // api (low) and call (high) would give high; the specific table says low.
        Assert.Equal(new RiskAssessment(RiskLevel.Low, "specific"), RiskClassifier.Classify("api:call"));
    }

    [Theory]
    [InlineData(RiskLevel.Low)]
    [InlineData(RiskLevel.Medium)]
    [InlineData(RiskLevel.High)]
    [InlineData(RiskLevel.Critical)]
    public void Explicit_level_overrides_everything(RiskLevel declared)
    {
        Assert.Equal(new RiskAssessment(declared, "explicit"), RiskClassifier.Classify("payment:refund", declared));
        Assert.Equal(new RiskAssessment(declared, "explicit"), RiskClassifier.Classify("db:read", declared));
        Assert.Equal(new RiskAssessment(declared, "explicit"), RiskClassifier.Classify("crm:frobnicate", declared));
    }

    [Fact]
    public void Undefined_declared_level_fails_closed_to_critical()
    {
        Assert.Equal(new RiskAssessment(RiskLevel.Critical, "explicit"), RiskClassifier.Classify("db:read", (RiskLevel)42));
        Assert.Equal(new RiskAssessment(RiskLevel.Critical, "explicit"), RiskClassifier.Classify("db:read", (RiskLevel)(-1)));
    }

    [Theory]
    [InlineData("crm:frobnicate")]
    [InlineData("")]
    [InlineData("nocolon")]
    [InlineData(":")]
    [InlineData("PAYMENT:REFUND")] // lookups are case-sensitive; capabilities are lower-case
    public void Unknown_capabilities_default_to_medium(string capability)
    {
        Assert.Equal(new RiskAssessment(RiskLevel.Medium, "default"), RiskClassifier.Classify(capability));
    }

    [Fact]
    public void Malformed_text_still_uses_what_it_can()
    {
        Assert.Equal(new RiskAssessment(RiskLevel.Critical, "namespace"), RiskClassifier.Classify("payment"));
        Assert.Equal(new RiskAssessment(RiskLevel.Critical, "namespace"), RiskClassifier.Classify("payment:a:b"));
    }

    [Fact]
    public void Classification_of_known_entries_does_not_allocate()
    {
        string[] inputs = ["payment:refund", "db:read", "crm:delete", "weather:zzz", "crm:zzz"];
        foreach (var input in inputs)
        {
            RiskClassifier.Classify(input); // warm up
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            foreach (var input in inputs)
            {
                RiskClassifier.Classify(input);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static TheoryData<string, RiskLevel> Table(params (RiskLevel Level, string Names)[] groups)
    {
        var data = new TheoryData<string, RiskLevel>();
        foreach (var (level, names) in groups)
        {
            foreach (var name in names.Split(' '))
            {
                data.Add(name, level);
            }
        }

        return data;
    }
}
