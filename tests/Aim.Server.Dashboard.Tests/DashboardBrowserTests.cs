using System.Diagnostics;
using System.Net;
using Microsoft.Playwright;

namespace Aim.Server.Dashboard.Tests;

/// <summary>The dashboard in real headless Chromium against a real server and a real Aim.Sdk agent.</summary>
public sealed class DashboardBrowserTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static readonly ActionDescriptor Probe = new("db:read");

    private async Task<IPage> SignInAsync(TestServer server, string key, IBrowserContext? context = null)
    {
        context ??= await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 860 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(server.Url, "dashboard/sign-in").ToString());
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        return page;
    }

    private static AimAgent Agent(TestServer server, string name, string apiKey) =>
        AimAgent.Secure(name, o =>
        {
            o.ServerUrl = server.Url;
            o.ApiKey = apiKey;
            o.Home = Directory.CreateTempSubdirectory("aim-dashboard-agent").FullName;
        });

    /// <summary>Registers the agent (its first call, refused: nothing granted yet) and grants it <paramref name="capability"/>.</summary>
    private static async Task RegisterAndGrantAsync(TestServer server, AimAgent agent, string capability)
    {
        await Assert.ThrowsAsync<ActionDeniedException>(() => agent.Runtime.InvokeAsync(Probe, null, () => Task.CompletedTask));
        (await server.Admin.PostAsync($"api/v1/agents/{agent.Name}/grants", new { capabilities = new[] { capability } })).Expect(HttpStatusCode.OK);
    }

    private static async Task WaitForRowAsync(ILocator row, Task call)
    {
        try
        {
            await Assertions.Expect(row).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        }
        catch (PlaywrightException) when (call.IsCompleted)
        {
            await call; // surfaces why the agent's call ended instead of waiting
            throw;
        }
    }

    [Fact]
    public async Task Wrong_key_is_refused_and_no_session_is_created()
    {
        await using var server = await TestServer.StartAsync();
        var page = await SignInAsync(server, "aim_not-a-real-key");
        Assert.Contains("/dashboard/sign-in", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid");
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("sign-in-refused"), FullPage = true });

        // Without a session every page sends the browser back to sign in.
        var response = await page.GotoAsync(new Uri(server.Url, "dashboard/approvals").ToString());
        Assert.Contains("/dashboard/sign-in", page.Url, StringComparison.Ordinal);
        Assert.Equal(200, response!.Status);
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "aim_session");
    }

    [Fact]
    public async Task Revoked_key_ends_its_session()
    {
        await using var server = await TestServer.StartAsync();
        string key = await server.CreateKeyAsync("temp-approver", "approver");
        var page = await SignInAsync(server, key);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Approvals" })).ToBeVisibleAsync();
        string id = (await server.Admin.GetAsync("api/v1/api-keys")).Json["items"]!.AsArray().First(k => (string?)k!["name"] == "temp-approver")!["id"]!.GetValue<string>();
        (await server.Admin.PostAsync($"api/v1/api-keys/{id}/revoke")).Expect(HttpStatusCode.OK);
        await page.ReloadAsync();
        Assert.Contains("/dashboard/sign-in", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approving_in_the_page_lets_the_waiting_agent_call_complete()
    {
        await using var server = await TestServer.StartAsync();
        string registrar = await server.CreateKeyAsync("agent-registrar", "registrar");
        string approver = await server.CreateKeyAsync("alice-approver", "approver");
        await using var agent = Agent(server, "refund-agent", registrar);
        await RegisterAndGrantAsync(server, agent, "payment:refund");

        var page = await SignInAsync(server, approver);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Approvals" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#no-pending")).ToBeVisibleAsync();
        // The page's live stream must be connected before the request arrives, so the row appears without a reload.
        await Assertions.Expect(page.Locator("html[data-live-connected='1']")).ToHaveCountAsync(1);

        bool ran = false;
        var refund = new ActionDescriptor("payment:refund", resource: "order-1001", jitAccess: true, jitTimeoutSeconds: 120, method: "Shop.RefundAgent.RefundAsync(string, decimal)");
        var call = agent.Runtime.InvokeAsync(refund, null, () =>
        {
            ran = true;
            return Task.FromResult(42m);
        });

        var row = page.Locator("tr[data-approval]");
        await Assertions.Expect(row).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Assertions.Expect(row).ToContainTextAsync("payment:refund");
        await Assertions.Expect(row).ToContainTextAsync("refund-agent");
        Assert.False(call.IsCompleted);
        Assert.False(ran);
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("approvals-pending"), FullPage = true });

        var clicked = Stopwatch.StartNew();
        await row.GetByRole(AriaRole.Button, new() { Name = "Approve" }).ClickAsync();
        decimal result = await call.WaitAsync(TimeSpan.FromSeconds(10));
        var elapsed = clicked.Elapsed;
        Assert.Equal(42m, result);
        Assert.True(ran);
        // Acceptance: the waiting agent continues within a second of the click (the long poll is woken, not polled).
        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"The agent continued {elapsed.TotalMilliseconds:0} ms after the click.");

        await Assertions.Expect(page.GetByRole(AriaRole.Status).First).ToContainTextAsync("Approved: payment:refund");
        await Assertions.Expect(page.Locator("#decided")).ToContainTextAsync("alice-approver");
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("approvals-decided"), FullPage = true });

        var approvals = (await server.Admin.GetAsync("api/v1/approvals?status=approved")).Json["items"]!.AsArray();
        Assert.Contains(approvals, a => ((string?)a!["decided_by"])!.StartsWith("alice-approver", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_denial_with_its_reason_shows_in_the_audit_view_and_verifies()
    {
        await using var server = await TestServer.StartAsync();
        string registrar = await server.CreateKeyAsync("agent-registrar", "registrar");
        string admin = await server.CreateKeyAsync("sec-admin", "admin");
        await using var agent = Agent(server, "payout-agent", registrar);
        await RegisterAndGrantAsync(server, agent, "payment:transfer");

        var page = await SignInAsync(server, admin);
        bool ran = false;
        var transfer = new ActionDescriptor("payment:transfer", jitAccess: true, jitTimeoutSeconds: 120);
        var call = agent.Runtime.InvokeAsync(transfer, null, () =>
        {
            ran = true;
            return Task.CompletedTask;
        });
        var row = page.Locator("tr[data-approval]");
        await WaitForRowAsync(row, call);

        // A denial without a reason is refused by the browser (required field) and by the server.
        await row.GetByLabel("Reason for denial").FillAsync("Transfers over the limit need the CFO <script>alert(1)</script>");
        await row.GetByRole(AriaRole.Button, new() { Name = "Deny" }).ClickAsync();
        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(ran);
        Assert.Contains("CFO", denied.Message, StringComparison.Ordinal);

        await page.GotoAsync(new Uri(server.Url, "dashboard/audit?decision=allow").ToString());
        var denialRow = page.Locator("#audit tr", new() { HasText = "aim:approval.denied" });
        await Assertions.Expect(denialRow).ToHaveCountAsync(1);
        await Assertions.Expect(denialRow).ToContainTextAsync("Transfers over the limit need the CFO <script>alert(1)</script>");
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("audit-log"), FullPage = true });

        await denialRow.GetByRole(AriaRole.Link).First.ClickAsync();
        await Assertions.Expect(page.Locator("pre")).ToContainTextAsync("approval.denied");
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("audit-entry"), FullPage = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify this entry" }).ClickAsync();
        await Assertions.Expect(page.Locator("#verdict")).ToContainTextAsync("Verified");
        await Assertions.Expect(page.Locator("td.bad")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("audit-verify"), FullPage = true });

        // Filters: the agent filter narrows to that agent's entries only.
        await page.GotoAsync(new Uri(server.Url, "dashboard/audit").ToString());
        await page.GetByLabel("Agent").SelectOptionAsync("payout-agent");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        var agentCells = await page.Locator("#audit tbody tr td:nth-child(3)").AllInnerTextsAsync();
        Assert.NotEmpty(agentCells);
        Assert.All(agentCells, c => Assert.Equal("payout-agent", c));
    }

    [Fact]
    public async Task Every_page_renders_for_an_admin_and_is_captured()
    {
        await using var server = await TestServer.StartAsync();
        string registrar = await server.CreateKeyAsync("agent-registrar", "registrar");
        await using (var agent = Agent(server, "support-agent", registrar))
        {
            await RegisterAndGrantAsync(server, agent, "email:send");
            await agent.Runtime.InvokeAsync(new ActionDescriptor("email:send"), null, () => Task.CompletedTask);
        }

        (await server.Admin.GetAsync("api/v1/agents/support-agent/trust")).Expect(HttpStatusCode.OK);
        var key = Aim.Crypto.Ed25519KeyPair.Generate();
        (await server.Admin.PostAsync("api/v1/mcp-servers", new { name = "files-mcp", url = "https://mcp.example.com/files", public_key = System.Buffers.Text.Base64Url.EncodeToString(key.PublicKey) })).Expect(HttpStatusCode.Created);

        var page = await SignInAsync(server, server.AdminKey);
        await page.GotoAsync(new Uri(server.Url, "dashboard/agents").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "support-agent" })).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("agents"), FullPage = true });

        await page.GetByRole(AriaRole.Link, new() { Name = "support-agent" }).ClickAsync();
        await Assertions.Expect(page.Locator("svg.chart")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("table")).ToContainTextAsync("verification_status");
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("agent-detail"), FullPage = true });
        await page.GetByRole(AriaRole.Button, new() { Name = "Suspend" }).ClickAsync();
        await Assertions.Expect(page.Locator("#agent-status")).ToHaveTextAsync("suspended");
        Assert.Equal("suspended", (await server.Admin.GetAsync("api/v1/agents/support-agent")).Json["status"]!.GetValue<string>());
        await page.GetByRole(AriaRole.Button, new() { Name = "Reactivate" }).ClickAsync();
        await Assertions.Expect(page.Locator("#agent-status")).ToHaveTextAsync("active");

        await page.GotoAsync(new Uri(server.Url, "dashboard/api-keys").ToString());
        await page.GetByLabel("Name").FillAsync("ci-auditor");
        await page.GetByLabel("Role").SelectOptionAsync("auditor");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        string newKey = (await page.Locator("#new-key").InnerTextAsync()).Trim();
        Assert.StartsWith("aim_", newKey, StringComparison.Ordinal);
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("api-keys-created"), FullPage = true });
        using (var auditor = new ApiClient(server.Url, newKey))
        {
            (await auditor.GetAsync("api/v1/audit/tree-head")).Expect(HttpStatusCode.OK);
        }

        // Shown once: a reload does not show it again.
        await page.GotoAsync(new Uri(server.Url, "dashboard/api-keys").ToString());
        Assert.DoesNotContain(newKey, await page.ContentAsync(), StringComparison.Ordinal);
        await page.Locator("#keys tr", new() { HasText = "ci-auditor" }).GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(page.Locator("#keys tr", new() { HasText = "ci-auditor" })).ToContainTextAsync("revoked");
        using (var revoked = new ApiClient(server.Url, newKey))
        {
            (await revoked.GetAsync("api/v1/audit/tree-head")).Expect(HttpStatusCode.Unauthorized);
        }

        await page.GotoAsync(new Uri(server.Url, "dashboard/capability-requests").ToString());
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("capability-requests"), FullPage = true });
        await page.GotoAsync(new Uri(server.Url, "dashboard/mcp-servers").ToString());
        await Assertions.Expect(page.Locator("#mcp")).ToContainTextAsync("files-mcp");
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("mcp-servers"), FullPage = true });
        await page.GotoAsync(new Uri(server.Url, "dashboard/reports").ToString());
        await page.ScreenshotAsync(new() { Path = Repo.Screenshot("reports"), FullPage = true });
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download report" }).ClickAsync());
        Assert.EndsWith(".pdf", download.SuggestedFilename, StringComparison.Ordinal);
        string saved = Path.Combine(Directory.CreateTempSubdirectory("aim-dl").FullName, download.SuggestedFilename);
        await download.SaveAsAsync(saved);
        Assert.StartsWith("%PDF-", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(saved), 0, 5), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Roles_apply_an_auditor_sees_no_decision_buttons_and_no_key_page()
    {
        await using var server = await TestServer.StartAsync();
        string auditor = await server.CreateKeyAsync("bob-auditor", "auditor");
        string registrar = await server.CreateKeyAsync("agent-registrar", "registrar");
        await using var agent = Agent(server, "ops-agent", registrar);
        await RegisterAndGrantAsync(server, agent, "db:delete");
        var call = agent.Runtime.InvokeAsync(new ActionDescriptor("db:delete", jitAccess: true, jitTimeoutSeconds: 60), null, () => Task.CompletedTask);

        var page = await SignInAsync(server, auditor);
        await WaitForRowAsync(page.Locator("tr[data-approval]"), call);
        string approvalId = (await page.Locator("tr[data-approval]").GetAttributeAsync("data-approval"))!;
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Approve" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "API keys" })).ToHaveCountAsync(0);
        var keys = await page.GotoAsync(new Uri(server.Url, "dashboard/api-keys").ToString());
        Assert.Equal(403, keys!.Status);

        // A forged approve POST from a role without the right changes nothing.
        var forged = await page.APIRequest.PostAsync(new Uri(server.Url, $"dashboard/approvals/{approvalId}/approve").ToString(), new() { Form = page.APIRequest.CreateFormData() });
        Assert.Equal(403, forged.Status);
        Assert.False(call.IsCompleted);
        Assert.Equal("pending", (await server.Admin.GetAsync($"api/v1/approvals/{approvalId}")).Json["status"]!.GetValue<string>());

        // An approver's POST without the session's CSRF token is refused too.
        string approver = await server.CreateKeyAsync("carol-approver", "approver");
        var approverPage = await SignInAsync(server, approver);
        var noToken = await approverPage.APIRequest.PostAsync(new Uri(server.Url, $"dashboard/approvals/{approvalId}/approve").ToString(), new() { Form = approverPage.APIRequest.CreateFormData().Set("csrf", "forged") });
        Assert.Equal(400, noToken.Status);
        Assert.Equal("pending", (await server.Admin.GetAsync($"api/v1/approvals/{approvalId}")).Json["status"]!.GetValue<string>());

        (await server.Admin.PostAsync($"api/v1/approvals/{approvalId}/deny", new { reason = "test over" })).Expect(HttpStatusCode.OK);
        await Assert.ThrowsAsync<ActionDeniedException>(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
