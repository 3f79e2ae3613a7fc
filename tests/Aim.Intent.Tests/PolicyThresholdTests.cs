using Aim.Approvals;
using Aim.Authorization;
using Aim.Engine;
using Aim.Intent.Check;
using Aim.Policy;

namespace Aim.Intent.Tests;

/// <summary>Step 5's cut points per risk level can come from the agent's policy (member <c>intent</c>), overriding the check's defaults.</summary>
public sealed class PolicyThresholdTests : IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("aim-intent-policy-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(home, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<(bool Ran, string? Code, bool Asked)> CallAsync(string? intent)
    {
        string file = Path.Combine(home, Guid.NewGuid().ToString("N") + ".json");
        string entry = "{\"grants\":[\"shell:exec\"]" + (intent is null ? string.Empty : ",\"intent\":" + intent) + "}";
        await File.WriteAllTextAsync(file, "{\"version\":1,\"agents\":{\"policy-agent\":" + entry + "}}");
        bool asked = false;
        var options = new AimOptions
        {
            AgentName = "policy-agent",
            Home = home,
            PolicyFile = file,
            AuditLogPath = Path.Combine(home, Guid.NewGuid().ToString("N") + ".db"),
            IntentCheck = new IntentClassifierCheck(),
            ApprovalHandler = new DelegateApprovalHandler(r => { asked = r.Evidence is not null; return new ApprovalDecision(false, "tester", "no"); }),
        };
        await using var runtime = new AimRuntime(EmbeddedEngine.Create(options));
        var action = new ActionDescriptor("shell:exec", declaredRisk: RiskLevel.High, description: "Run the unit tests", method: "Tools.Run(string)", parameterNames: ["command"]);
        bool ran = false;
        try
        {
            runtime.Invoke(action, ["dotnet test"], () => ran = true);
            return (ran, null, asked);
        }
        catch (ActionDeniedException ex)
        {
            return (ran, ex.ReasonCode, asked);
        }
    }

    [Fact]
    public async Task The_policys_cut_points_decide_instead_of_the_defaults()
    {
        // A plain request passes the default cut points.
        Assert.Equal((true, (string?)null, false), await CallAsync(null));

        // A policy that steps up every high-risk action sends it to the approver with the evidence (who denies here).
        Assert.Equal((false, ApprovalStep.Denied, true), await CallAsync("{\"high\":{\"stepUpAt\":0,\"denyAt\":1}}"));

        // One that denies every high-risk action outright: no approver is asked.
        Assert.Equal((false, IntentClassifierCheck.FlaggedReasonCode, false), await CallAsync("{\"high\":{\"stepUpAt\":0,\"denyAt\":0}}"));

        // Cut points for another level leave high-risk actions on the defaults.
        Assert.Equal((true, (string?)null, false), await CallAsync("{\"critical\":{\"stepUpAt\":0,\"denyAt\":0}}"));
    }

    [Theory]
    [InlineData("{\"high\":{\"stepUpAt\":0.9,\"denyAt\":0.5}}", "$.agents['a'].intent")]
    [InlineData("{\"high\":{\"stepUpAt\":1.5,\"denyAt\":2}}", "$.agents['a'].intent.high.stepUpAt")]
    [InlineData("{\"high\":{\"stepUpAt\":0.5}}", "$.agents['a'].intent.high")]
    [InlineData("{\"medium\":{\"stepUpAt\":0.5,\"denyAt\":0.9}}", "$.agents['a'].intent")]
    public void Malformed_cut_points_are_refused_with_their_path(string intent, string path)
    {
        var ex = Assert.Throws<PolicyFormatException>(() => AgentPolicySet.Parse("{\"version\":1,\"agents\":{\"a\":{\"intent\":" + intent + "}}}"));
        Assert.StartsWith(path.Replace("'", "\"", StringComparison.Ordinal), ex.JsonPath);
    }
}
