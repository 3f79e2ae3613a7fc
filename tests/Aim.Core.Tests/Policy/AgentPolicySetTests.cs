using Aim.Capabilities;
using Aim.Policy;

namespace Aim.Core.Tests.Policy;

public sealed class AgentPolicySetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "aim-policy-" + Guid.NewGuid().ToString("N"));

    public AgentPolicySetTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string FullPolicy = """
        {
          "$schema": "https://example.com/aim-policy.json",
          "version": 1,
          "agents": {
            "Support-Agent": {
              "grants": [
                "db:read@users_*",
                "email:send",
                { "capability": "file:read", "resources": ["s3://bucket/*", "/tmp/*"] }
              ],
              "attributes": { "environment": "prod", "region": ["eu-west-1", "eu-central-1"] },
              "timeWindows": [ { "days": ["mon", "Tuesday", "wed", "thu", "fri"], "startHour": 9, "endHour": 17 } ],
              "rateLimits": [ { "capability": "email:send", "limit": 10, "per": "00:01:00" } ],
              "budget": { "limitUsd": 50.25, "per": "1.00:00:00" }
            },
            "reporter": { "grants": ["*:read"] }
          }
        }
        """;

    [Fact]
    public void Full_policy_file_loads_every_section()
    {
        var path = Path.Combine(_dir, "policy.json");
        File.WriteAllText(path, FullPolicy);

        var set = AgentPolicySet.Load(path);
        var support = set.For("support-agent");

        Assert.Equal(path, set.SourcePath);
        Assert.Equal(["reporter", "support-agent"], set.Agents.Keys.Order().ToArray());
        Assert.Equal(3, support.Grants.Count);
        Assert.True(support.CheckCapability(Capability.Parse("db:read"), "users_1").Allowed);
        Assert.True(support.CheckCapability(Capability.Parse("file:read"), "/tmp/a").Allowed);
        Assert.Equal("resource_not_granted", support.CheckCapability(Capability.Parse("file:read"), "/etc/passwd").ReasonCode);
        Assert.Equal(["prod"], support.RequiredAttributes["environment"]);
        Assert.Equal(["eu-west-1", "eu-central-1"], support.RequiredAttributes["region"]);
        Assert.Equal([DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday], support.TimeWindows[0].Days);
        Assert.Equal(10, support.RateLimits[0].Limit);
        Assert.Equal(TimeSpan.FromMinutes(1), support.RateLimits[0].Per);
        Assert.Equal(50.25m, support.Budget!.LimitUsd);
        Assert.Equal(TimeSpan.FromDays(1), support.Budget.Per);
        Assert.True(set.For("REPORTER").CheckCapability(Capability.Parse("weather:read"), null).Allowed);
    }

    [Fact]
    public void Agent_missing_from_the_file_is_denied_everything()
    {
        var set = AgentPolicySet.Parse(FullPolicy);
        Assert.Equal("capability_not_granted", set.For("stranger").CheckCapability(Capability.Parse("util:get"), null).ReasonCode);
    }

    [Fact]
    public void Empty_agents_object_is_valid()
    {
        Assert.Empty(AgentPolicySet.Parse("""{"agents":{}}""").Agents);
    }

    public static TheoryData<string, string> Malformed() => new()
    {
        { "", "$" },
        { "{", "$" },
        { "[]", "$" },
        { "{}", "$" },
        { """{"agents":{}, "agnets":{}}""", "$[\"agnets\"]" },
        { """{"agents":{}} // comment""", "$" },
        { """{"agents":{},}""", "$" },
        { """{"version":2,"agents":{}}""", "$.version" },
        { """{"version":"1","agents":{}}""", "$.version" },
        { """{"agents":[]}""", "$.agents" },
        { """{"agents":{"a":{}},"agents":{}}""", "$[\"agents\"]" },
        { """{"agents":{"../x":{}}}""", "$.agents[\"../x\"]" },
        { """{"agents":{"A":{},"a":{}}}""", "$.agents[\"a\"]" },
        { """{"agents":{"a":[]}}""", "$.agents[\"a\"]" },
        { """{"agents":{"a":{"grant":["db:read"]}}}""", "$.agents[\"a\"][\"grant\"]" },
        { """{"agents":{"a":{"grants":"db:read"}}}""", "$.agents[\"a\"].grants" },
        { """{"agents":{"a":{"grants":["db:read","DB:write"]}}}""", "$.agents[\"a\"].grants[1]" },
        { """{"agents":{"a":{"grants":[42]}}}""", "$.agents[\"a\"].grants[0]" },
        { """{"agents":{"a":{"grants":[{"capability":"db:read","resource":"x"}]}}}""", "$.agents[\"a\"].grants[0][\"resource\"]" },
        { """{"agents":{"a":{"grants":[{"resources":["x"]}]}}}""", "$.agents[\"a\"].grants[0]" },
        { """{"agents":{"a":{"grants":[{"capability":"db:read@x"}]}}}""", "$.agents[\"a\"].grants[0].capability" },
        { """{"agents":{"a":{"grants":[{"capability":"db:read","resources":[""]}]}}}""", "$.agents[\"a\"].grants[0]" },
        { """{"agents":{"a":{"attributes":{"env":5}}}}""", "$.agents[\"a\"].attributes[\"env\"]" },
        { """{"agents":{"a":{"attributes":{"env":[]}}}}""", "$.agents[\"a\"].attributes[\"env\"]" },
        { """{"agents":{"a":{"attributes":{"env":["x",null]}}}}""", "$.agents[\"a\"].attributes[\"env\"][1]" },
        { """{"agents":{"a":{"attributes":{"":"x"}}}}""", "$.agents[\"a\"].attributes[\"\"]" },
        { """{"agents":{"a":{"timeWindows":[{"days":["funday"],"startHour":1,"endHour":2}]}}}""", "$.agents[\"a\"].timeWindows[0].days[0]" },
        { """{"agents":{"a":{"timeWindows":[{"startHour":1}]}}}""", "$.agents[\"a\"].timeWindows[0]" },
        { """{"agents":{"a":{"timeWindows":[{"startHour":25,"endHour":2}]}}}""", "$.agents[\"a\"].timeWindows[0]" },
        { """{"agents":{"a":{"timeWindows":[{"startHour":1.5,"endHour":2}]}}}""", "$.agents[\"a\"].timeWindows[0].startHour" },
        { """{"agents":{"a":{"timeWindows":[{"startHour":1,"endHour":2,"tz":"CET"}]}}}""", "$.agents[\"a\"].timeWindows[0][\"tz\"]" },
        { """{"agents":{"a":{"rateLimits":[{"capability":"email:send","limit":10,"per":"1 minute"}]}}}""", "$.agents[\"a\"].rateLimits[0].per" },
        { """{"agents":{"a":{"rateLimits":[{"capability":"email:send","limit":0,"per":"00:01:00"}]}}}""", "$.agents[\"a\"].rateLimits[0]" },
        { """{"agents":{"a":{"rateLimits":[{"capability":"email:send","limit":99999999999,"per":"00:01:00"}]}}}""", "$.agents[\"a\"].rateLimits[0].limit" },
        { """{"agents":{"a":{"rateLimits":[{"capability":"Email","limit":1,"per":"00:01:00"}]}}}""", "$.agents[\"a\"].rateLimits[0]" },
        { """{"agents":{"a":{"rateLimits":[{"limit":1,"per":"00:01:00"}]}}}""", "$.agents[\"a\"].rateLimits[0]" },
        { """{"agents":{"a":{"budget":{"limitUsd":"10"}}}}""", "$.agents[\"a\"].budget.limitUsd" },
        { """{"agents":{"a":{"budget":{"limitUsd":-1}}}}""", "$.agents[\"a\"].budget" },
        { """{"agents":{"a":{"budget":{"limitUsd":1,"per":"-00:01:00"}}}}""", "$.agents[\"a\"].budget" },
        { """{"agents":{"a":{"budget":{"limitUsd":1,"currency":"EUR"}}}}""", "$.agents[\"a\"].budget[\"currency\"]" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_policy_names_the_file_and_the_json_path(string json, string jsonPath)
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, json);

        var ex = Assert.Throws<PolicyFormatException>(() => AgentPolicySet.Load(path));

        Assert.Equal("aim_policy_malformed", ex.Code);
        Assert.Equal(path, ex.FilePath);
        Assert.Contains(path, ex.Message);
        Assert.Equal(jsonPath, ex.JsonPath);
        Assert.Contains(jsonPath, ex.Message);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xff, (byte)'"', (byte)':', (byte)'1', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'a', (byte)'g', (byte)'e', (byte)'n', (byte)'t', (byte)'s', (byte)'"', (byte)':', (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':', (byte)'{', (byte)'"', (byte)'g', (byte)'r', (byte)'a', (byte)'n', (byte)'t', (byte)'s', (byte)'"', (byte)':', (byte)'[', (byte)'"', 0xc3, (byte)'"', (byte)']', (byte)'}', (byte)'}', (byte)'}' })]
    public void Invalid_utf8_is_a_policy_error(byte[] content)
    {
        var path = Path.Combine(_dir, "utf8.json");
        File.WriteAllBytes(path, content);
        var ex = Assert.Throws<PolicyFormatException>(() => AgentPolicySet.Load(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Deeply_nested_document_is_refused()
    {
        var json = "{\"agents\":{\"a\":{\"attributes\":{\"x\":" + new string('[', 5000) + new string(']', 5000) + "}}}}";
        Assert.Throws<PolicyFormatException>(() => AgentPolicySet.Parse(json, "deep.json"));
    }

    [Fact]
    public void Missing_file_is_a_policy_error()
    {
        var ex = Assert.Throws<PolicyFormatException>(() => AgentPolicySet.Load(Path.Combine(_dir, "none.json")));
        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public void Policies_built_in_code_form_a_set()
    {
        var set = new AgentPolicySet([new AgentPolicy.Builder("a").Grant("db:read").Build()]);
        Assert.True(set.For("A").CheckCapability(Capability.Parse("db:read"), null).Allowed);
        Assert.Throws<ArgumentException>(() => new AgentPolicySet([AgentPolicy.DenyAll("a"), AgentPolicy.DenyAll("A")]));
    }
}
