using System.Net;
using Aim.Server.Dashboard;

namespace Aim.Server.Dashboard.Tests;

/// <summary>Hostile requests to the dashboard without a browser: forged cookies, open redirects, oversized forms.</summary>
public sealed class DashboardHttpTests
{
    private static HttpClient Client(TestServer server, CookieContainer? cookies = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer(), UseCookies = true }) { BaseAddress = server.Url };

    /// <summary>Loads the sign-in form first (as a browser does), so the post carries its CSRF token and cookie.</summary>
    private static async Task<HttpResponseMessage> SignInAsync(HttpClient http, string key, string? returnTo = null)
    {
        var fields = new Dictionary<string, string> { ["api_key"] = key, ["csrf"] = await SignInTokenAsync(http) };
        if (returnTo is not null)
        {
            fields["return"] = returnTo;
        }

        return await http.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(fields));
    }

    private static async Task<string> SignInTokenAsync(HttpClient http)
    {
        string form = await http.GetStringAsync("dashboard/sign-in");
        var match = System.Text.RegularExpressions.Regex.Match(form, "name=\"csrf\" value=\"([0-9a-f]{64})\"");
        Assert.True(match.Success, "the sign-in form carries a CSRF token");
        return match.Groups[1].Value;
    }

    [Fact]
    public async Task Sign_in_refuses_a_cross_site_post_without_the_form_token()
    {
        await using var server = await TestServer.StartAsync();
        // A page on another site posts the attacker's key into the victim's browser: no sign-in cookie, no token.
        using var victim = Client(server);
        var forged = await victim.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["api_key"] = server.AdminKey }));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.False(forged.Headers.TryGetValues("Set-Cookie", out var set) && set.Any(c => c.StartsWith("aim_session=", StringComparison.Ordinal)));

        // A token from another browser (the attacker's own) does not match this browser's cookie.
        using var attacker = Client(server);
        string attackerToken = await SignInTokenAsync(attacker);
        using var other = Client(server);
        _ = await SignInTokenAsync(other);
        var swapped = await other.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["api_key"] = server.AdminKey, ["csrf"] = attackerToken }));
        Assert.Equal(HttpStatusCode.BadRequest, swapped.StatusCode);

        // The right token, but the browser says the post came from another origin.
        using var crossOrigin = Client(server);
        var request = new HttpRequestMessage(HttpMethod.Post, "dashboard/sign-in")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["api_key"] = server.AdminKey, ["csrf"] = await SignInTokenAsync(crossOrigin) }),
        };
        request.Headers.Add("Origin", "https://evil.example");
        Assert.Equal(HttpStatusCode.BadRequest, (await crossOrigin.SendAsync(request)).StatusCode);

        // The form loaded from the dashboard itself signs in.
        using var browser = Client(server);
        Assert.Equal(HttpStatusCode.Redirect, (await SignInAsync(browser, server.AdminKey)).StatusCode);
    }

    [Theory]
    [InlineData("/dashboard/audit\r\nSet-Cookie: aim_session=x")]
    [InlineData("/dashboard/audit\nLocation: https://evil.example")]
    [InlineData("/dashboard/\u00e9")]
    public async Task Sign_in_with_control_characters_in_the_return_path_redirects_to_the_dashboard(string target)
    {
        await using var server = await TestServer.StartAsync();
        using var http = Client(server);
        var response = await SignInAsync(http, server.AdminKey, target);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard", response.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData("https://evil.example/phish", "/dashboard")]
    [InlineData("/dashboard/../api/v1/orgs", "/dashboard")]
    [InlineData("/dashboardevil", "/dashboard")]
    [InlineData("/dashboard/x\ry", "/dashboard")]
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
        string token = await SignInTokenAsync(http);
        var huge = await http.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["api_key"] = new string('k', 100_000), ["csrf"] = token }));
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        var json = await http.PostAsync("dashboard/sign-in", new StringContent("{\"api_key\":\"" + server.AdminKey + "\",\"csrf\":\"" + token + "\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
        // Each refused form is rendered again with a fresh token (and cookie).
        var wrongKey = await http.PostAsync("dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string> { ["api_key"] = "aim_wrong", ["csrf"] = await SignInTokenAsync(http) }));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);

        Assert.Equal(HttpStatusCode.Redirect, (await SignInAsync(http, server.AdminKey)).StatusCode);
        var noCsrf = await http.PostAsync("dashboard/api-keys", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "x", ["role"] = "admin" }));
        Assert.Equal(HttpStatusCode.BadRequest, noCsrf.StatusCode);
        Assert.Single((await server.Admin.GetAsync("api/v1/api-keys")).Json["items"]!.AsArray());
    }
}
