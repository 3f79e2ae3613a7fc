using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aim.Server.Tests;

/// <summary>
/// What a new user sees: the startup line with the listening address and the dashboard URL, <c>/</c> leading to the
/// dashboard, and the documented <c>{"error":{"code","message"}}</c> body for every route the server does not have.
/// </summary>
public sealed partial class FirstRunTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync("sqlite");
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _server.Url };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Startup_line_names_the_bound_address_and_the_dashboard_url()
    {
        string data = TestDirectories.Create("aim-first-run").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Port 0: the line must report the port Kestrel really bound, not the one asked for.
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "Aim.Server.dll"), "--urls", "http://127.0.0.1:0", "--data", data })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["AIM_ADMIN_KEY"] = "aim_test_first_run_0123456789abcdef";
        start.Environment.Remove("AIM_POSTGRES");
        using var process = Process.Start(start)!;
        var line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        DataReceivedEventHandler read = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            output.Enqueue(e.Data);
            if (e.Data.Contains("listening on", StringComparison.Ordinal))
            {
                line.TrySetResult(e.Data);
            }
        };
        process.OutputDataReceived += read;
        process.ErrorDataReceived += read;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.WhenAny(line.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
            Assert.True(line.Task.IsCompleted, "no startup line; output:\n" + string.Join('\n', output));
            string startup = await line.Task;
            var match = StartupLine().Match(startup);
            Assert.True(match.Success, "unexpected startup line: " + startup);
            Assert.NotEqual("0", match.Groups["port"].Value);
            Assert.Equal($"http://127.0.0.1:{match.Groups["port"].Value}/dashboard", match.Groups["dashboard"].Value);

            // The address in the line is the one that answers.
            using var http = new HttpClient { BaseAddress = new Uri(match.Groups["address"].Value + "/") };
            using var health = await http.GetAsync("health");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void Configuration_files_are_read_at_start_and_not_watched()
    {
        // A reload-on-change watcher covers the whole working directory, where the data directory sits by default: it
        // woke on every database write.
        var files = ((IConfigurationRoot)_server.Services.GetRequiredService<IConfiguration>()).Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.NotEmpty(files); // appsettings.json is still read
        Assert.All(files, f => Assert.False(f.Source.ReloadOnChange, f.Source.Path));
    }

    [Fact]
    public async Task Root_redirects_to_the_dashboard_which_asks_a_stranger_to_sign_in()
    {
        using var root = await _http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/dashboard", root.Headers.Location?.OriginalString);

        // Followed as a browser would: the dashboard, then its sign-in page for a visitor without a session.
        using var browser = new HttpClient { BaseAddress = _server.Url };
        using var page = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.StartsWith("/dashboard/sign-in", page.RequestMessage!.RequestUri!.AbsolutePath, StringComparison.Ordinal);
        Assert.Contains("api_key", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/nope", 404, "not_found")]
    [InlineData("GET", "/api/v1/no-such-resource", 404, "not_found")]
    [InlineData("GET", "/api/v2/agents", 404, "not_found")]
    [InlineData("DELETE", "/api/v1/agents/x/y/z/w", 404, "not_found")]
    [InlineData("GET", "/health/../../etc/passwd", 404, "not_found")]
    [InlineData("GET", "/%ff%c0%af", 404, "not_found")]
    [InlineData("GET", "/..%2f..%2fetc%2fpasswd", 404, "not_found")]
    [InlineData("GET", "/dashboard/no-such-page", 404, "not_found")]
    [InlineData("POST", "/health", 405, "method_not_allowed")]
    [InlineData("PUT", "/", 405, "method_not_allowed")]
    [InlineData("DELETE", "/openapi/v1.json", 405, "method_not_allowed")]
    public async Task Unknown_routes_and_methods_answer_the_documented_json_error(string method, string path, int status, string code)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await _http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{method} {path}: expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_very_long_unknown_path_is_refused_with_the_json_error()
    {
        // Below Kestrel's 8 KB request-line limit, so routing (not Kestrel) refuses it.
        using var response = await _http.GetAsync("/" + new string('a', 6000));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"got {(int)response.StatusCode}: {text}");
        Assert.Equal("not_found", JsonNode.Parse(text)!["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Existing_refusals_keep_their_own_codes()
    {
        // The status-code fallback must not overwrite the API's own error bodies.
        using var response = await _http.GetAsync("/api/v1/agents");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("api_key_missing", body["error"]!["code"]!.GetValue<string>());
    }

    [GeneratedRegex(@"Aim server listening on (?<address>http://127\.0\.0\.1:(?<port>\d+)); dashboard: (?<dashboard>\S+)$")]
    private static partial Regex StartupLine();
}
