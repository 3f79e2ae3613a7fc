using System.Net;
using System.Text.Json.Nodes;
using Aim.Authorization;

namespace Aim.Server.Dashboard.Tests;

/// <summary>
/// A step-up on the server (step 5 not sure) becomes a pending approval whose approver sees why: the evidence is in the
/// API's approval view and in the dashboard's approval list, and the action runs only once approved.
/// </summary>
public sealed class StepUpEvidenceTests
{
    private sealed class NotSure : IIntentCheck
    {
        public ValueTask<StepResult> CheckAsync(ActionRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(StepResult.StepUp("intent_uncertain", "The classifier is not sure this reads as intended.",
                new JsonObject { ["intent_score"] = 0.81, ["class"] = "exfiltration", ["evidence"] = new JsonArray("curl", "/etc/shadow") }));
    }

    [Fact]
    public async Task The_approver_sees_a_step_ups_evidence_in_the_api_and_the_dashboard()
    {
        await using var server = await TestServer.StartAsync(o => o.IntentCheck = new NotSure());
        string registrar = await server.CreateKeyAsync("registrar", "registrar");
        await using var agent = AimAgent.Secure("stepped-agent", o =>
        {
            o.ServerUrl = server.Url;
            o.ApiKey = registrar;
            o.ShareActionText = true;
            o.Home = Directory.CreateTempSubdirectory("aim-stepup-agent").FullName;
        });
        await Assert.ThrowsAsync<ActionDeniedException>(() => agent.Runtime.InvokeAsync(new ActionDescriptor("db:export"), null, () => Task.CompletedTask));
        (await server.Admin.PostAsync("api/v1/agents/stepped-agent/grants", new { capabilities = new[] { "db:export" } })).Expect(HttpStatusCode.OK);

        int ran = 0;
        var call = agent.Runtime.InvokeAsync(new ActionDescriptor("db:export", declaredRisk: RiskLevel.High, jitTimeoutSeconds: 60, description: "Exports a table.", parameterNames: ["table"]),
            ["users"], () => { ran++; return Task.CompletedTask; });
        JsonNode pending = null!;
        for (int i = 0; i < 1200 && (pending = (await server.Admin.GetAsync("api/v1/approvals")).Json["items"]!.AsArray().FirstOrDefault()!) is null; i++)
        {
            await Task.Delay(25);
        }

        Assert.NotNull(pending);
        Assert.Equal(0, ran);
        Assert.Equal("approval", pending["step"]!.GetValue<string>());
        Assert.Equal("intent", pending["evidence"]!["step"]!.GetValue<string>());
        Assert.Equal("exfiltration", pending["evidence"]!["class"]!.GetValue<string>());

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = server.Url };
        string form = await http.GetStringAsync("dashboard/sign-in");
        string csrf = System.Text.RegularExpressions.Regex.Match(form, "name=\"csrf\" value=\"([0-9a-f]{64})\"").Groups[1].Value;
        (await http.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["api_key"] = server.AdminKey, ["csrf"] = csrf }))).EnsureSuccessStatusCodeOrRedirect();
        string page = await http.GetStringAsync("dashboard/approvals");
        Assert.Contains("Stepped up by the intent check: The classifier is not sure this reads as intended.", page);
        Assert.Contains("exfiltration", page);
        Assert.Contains("/etc/shadow", page);

        (await server.Admin.PostAsync($"api/v1/approvals/{pending["id"]!.GetValue<string>()}/approve", new { reason = "checked the table" })).Expect(HttpStatusCode.OK);
        await call.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, ran);
    }
}

internal static class ResponseChecks
{
    public static void EnsureSuccessStatusCodeOrRedirect(this HttpResponseMessage response) =>
        Assert.True(response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.Redirect, $"{(int)response.StatusCode}");
}
