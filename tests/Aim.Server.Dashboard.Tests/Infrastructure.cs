using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace Aim.Server.Dashboard.Tests;

/// <summary>A real Aim server on 127.0.0.1 (SQLite in a temp directory) with a known bootstrap admin key.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsData;

    private TestServer(WebApplication app, Uri url, string adminKey, string data, bool ownsData)
    {
        _app = app;
        _ownsData = ownsData;
        Url = url;
        AdminKey = adminKey;
        DataDirectory = data;
        Admin = new ApiClient(url, adminKey);
    }

    public Uri Url { get; }

    public string AdminKey { get; }

    public string DataDirectory { get; }

    public ApiClient Admin { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestServer> StartAsync(Action<AimServerOptions>? configure = null, string? dataDirectory = null, string? adminKey = null)
    {
        string data = dataDirectory ?? Directory.CreateTempSubdirectory("aim-dashboard-test").FullName;
        adminKey ??= "aim_test_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        string key = adminKey;
        var app = await AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0"], o =>
        {
            o.DataDirectory = data;
            o.BootstrapAdminKey = key;
            configure?.Invoke(o);
        });
        await app.StartAsync();
        var url = new Uri(app.Urls.First(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) + "/");
        return new TestServer(app, url, adminKey, data, ownsData: dataDirectory is null);
    }

    public async Task<string> CreateKeyAsync(string name, string role)
    {
        var r = (await Admin.PostAsync("api/v1/api-keys", new { name, role })).Expect(HttpStatusCode.Created);
        return r.Json["key"]!.GetValue<string>();
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsData)
        {
            // A directory the caller named may be reused by the next server (restart tests); one made here is not.
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: the OS cleans the temporary directory.
            }
        }
    }
}

public sealed record ApiResponse(HttpStatusCode Status, JsonNode? Body, string Text, byte[] Bytes, string? ContentType)
{
    public JsonNode Json => Body ?? throw new InvalidOperationException($"No JSON body ({Status}): {Text}");

    public string? ErrorCode => Body?["error"]?["code"]?.GetValue<string>();

    public ApiResponse Expect(HttpStatusCode status)
    {
        Assert.True(Status == status, $"Expected {status}, got {(int)Status}: {Text}");
        return this;
    }
}

public sealed class ApiClient(Uri server, string apiKey) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = server };

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<ApiResponse> PostAsync(string path, object? body = null) => SendAsync(HttpMethod.Post, path, body);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body)
    {
        using var message = new HttpRequestMessage(method, path);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        if (body is not null)
        {
            message.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(message);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        string? type = response.Content.Headers.ContentType?.MediaType;
        string text = type == "application/pdf" ? string.Empty : Encoding.UTF8.GetString(bytes);
        JsonNode? json = type?.Contains("json", StringComparison.Ordinal) == true && text.Length > 0 ? JsonNode.Parse(text) : null;
        return new ApiResponse(response.StatusCode, json, text, bytes, type);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Debian's Chromium driven by Playwright (never a downloaded browser).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install it with 'apt-get install -y chromium' (scripts/test.sh does).");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}

public static class Repo
{
    /// <summary>The repository root (the folder holding Aim.Sdk.sln).</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aim.Sdk.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Aim.Sdk.sln not found above the test binaries.");
        }
    }

    /// <summary>
    /// Where page screenshots go: docs/screenshots (shown by docs/dashboard.md) when AIM_UPDATE_SCREENSHOTS=1, else beside
    /// the test binaries, so an ordinary test run leaves the checkout clean.
    /// </summary>
    public static string Screenshot(string name)
    {
        string dir = Environment.GetEnvironmentVariable("AIM_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(Root, "docs", "screenshots")
            : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name + ".png");
    }
}
