using System.Net;
using Aim.Server.Dashboard;

namespace Aim.Server.Dashboard.Tests;

/// <summary>Hostile requests to the dashboard without a browser: forged cookies, open redirects, oversized forms.</summary>
public sealed class DashboardHttpTests
{
    private static HttpClient Client(TestServer server, CookieContainer? cookies = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer(), UseCookies = true }) { BaseAddress = server.Url };

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string key, string? returnTo = null)
    {
        var fields = new Dictionary<string, string> { ["api_key"] = key };
        if (returnTo is not null)
        {
            fields["return"] = returnTo;
        }

        return await http.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(fields));
    }

    [Theory]
    [InlineData("https://evil.example/phish", "/dashboard")]
    [InlineData("//evil.example/x", "/dashboard")]
    [InlineData("/dashboard\\..\\evil", "/dashboard")]
    [InlineData("/api/v1/orgs", "/dashboard")]
    [InlineData("/dashboard/audit?agent=a", "/dashboard/audit?agent=a")]
    public void Sign_in_only_returns_to_dashboard_paths(string target, string expected) =>
        Assert.Equal(expected, DashboardEndpoints.SafeReturn(target));

    [Fact]
    public async Task Forged_or_missing_session_cookies_get_the_sign_in_page_and_events_get_401()
    {
        await using var server = await TestServer.StartAsync();
        var cookies = new CookieContainer();
        cookies.Add(server.Url, new Cookie("aim_session", new string('a', 64), "/dashboard"));
        using var http = Client(server, cookies);
        var page = await http.GetAsync("dashboard/audit");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/dashboard/sign-in", page.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("dashboard/events")).StatusCode);
        var post = await http.PostAsync("dashboard/api-keys", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "x", ["role"] = "admin" }));
        Assert.Equal(HttpStatusCode.Redirect, post.StatusCode);
        Assert.Single((await server.Admin.GetAsync("api/v1/api-keys")).Json["items"]!.AsArray());
    }

    [Fact]
    public async Task Sign_in_sets_a_strict_httponly_cookie_and_pages_send_a_strict_csp()
    {
        await using var server = await TestServer.StartAsync();
        using var http = Client(server);
        var response = await SignInAsync(http, server.AdminKey, "https://evil.example/");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard", response.Headers.Location!.OriginalString);
        string cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("aim_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(server.AdminKey, cookie, StringComparison.Ordinal);

        var page = await http.GetAsync("dashboard/agents");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        string csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("dashboard/audit/999999")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("dashboard/agents/" + new string('x', 200))).StatusCode);
    }

    [Fact]
    public async Task Oversized_or_malformed_forms_are_refused()
    {
        await using var server = await TestServer.StartAsync();
        using var http = Client(server);
        var huge = await http.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["api_key"] = new string('k', 100_000) }));
        Assert.Equal(HttpStatusCode.Unauthorized, huge.StatusCode);
        var json = await http.PostAsync("dashboard/sign-in", new StringContent("{\"api_key\":\"" + server.AdminKey + "\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, json.StatusCode);

        Assert.Equal(HttpStatusCode.Redirect, (await SignInAsync(http, server.AdminKey)).StatusCode);
        var noCsrf = await http.PostAsync("dashboard/api-keys", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "x", ["role"] = "admin" }));
        Assert.Equal(HttpStatusCode.BadRequest, noCsrf.StatusCode);
        Assert.Single((await server.Admin.GetAsync("api/v1/api-keys")).Json["items"]!.AsArray());
    }
}
