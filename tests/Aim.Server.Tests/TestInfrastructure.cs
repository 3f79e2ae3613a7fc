using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Identity;
using Aim.Protocol;
using Aim.Remote;
using Aim.Server;
using Microsoft.AspNetCore.Builder;
using Npgsql;

namespace Aim.Server.Tests;

/// <summary>A clock tests move by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>The storage backends available here: SQLite always, PostgreSQL when AIM_TEST_POSTGRES is set.</summary>
public static class Backends
{
    public static string? PostgresConnectionString => Environment.GetEnvironmentVariable("AIM_TEST_POSTGRES") is { Length: > 0 } s ? s : null;

    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string> { "sqlite" };
            if (PostgresConnectionString is not null)
            {
                data.Add("postgres");
            }

            return data;
        }
    }

    /// <summary>A fresh, empty PostgreSQL database on the test cluster (one per test server).</summary>
    public static string NewPostgresDatabase()
    {
        var baseConnection = PostgresConnectionString ?? throw new InvalidOperationException("AIM_TEST_POSTGRES is not set.");
        string name = "aim_" + Guid.NewGuid().ToString("N")[..16];
        using (var connection = new NpgsqlConnection(baseConnection))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(baseConnection) { Database = name }.ConnectionString;
    }
}

/// <summary>A real Kestrel server on 127.0.0.1 with a free port, on SQLite or PostgreSQL.</summary>
public sealed class ServerHarness : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServerHarness(WebApplication app, Uri url, string adminKey, string dataDirectory)
    {
        _app = app;
        Url = url;
        AdminKey = adminKey;
        DataDirectory = dataDirectory;
    }

    public Uri Url { get; }

    public string AdminKey { get; }

    public string DataDirectory { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The PostgreSQL database the server uses (null on SQLite).</summary>
    public string? Postgres { get; private init; }

    public static async Task<ServerHarness> StartAsync(string backend, TimeProvider? clock = null, Action<AimServerOptions>? configure = null, string? dataDirectory = null, string? postgres = null, string? adminKey = null)
    {
        string data = dataDirectory ?? TestDirectories.Create("aim-server-test").FullName;
        adminKey ??= "aim_test_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        postgres = backend == "postgres" ? postgres ?? Backends.NewPostgresDatabase() : null;
        string key = adminKey;
        var app = await AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0"], o =>
        {
            o.DataDirectory = data;
            o.BootstrapAdminKey = key;
            o.PostgresConnectionString = postgres;
            if (clock is not null)
            {
                o.TimeProvider = clock;
            }

            configure?.Invoke(o);
        });
        await app.StartAsync();
        var url = new Uri(app.Urls.First(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) + "/");
        return new ServerHarness(app, url, adminKey, data) { Postgres = postgres };
    }

    public AdminClient Admin() => new(Url, AdminKey);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A response: status and parsed JSON body.</summary>
public sealed record ApiResponse(HttpStatusCode Status, JsonNode? Body, string Text)
{
    public string? ErrorCode => Body?["error"]?["code"]?.GetValue<string>();

    public JsonNode Json => Body ?? throw new InvalidOperationException($"No JSON body ({Status}): {Text}");

    public ApiResponse Expect(HttpStatusCode status)
    {
        Assert.True(Status == status, $"Expected {status}, got {(int)Status} {Status}: {Text}");
        return this;
    }
}

/// <summary>HTTP with an API key.</summary>
public sealed class AdminClient(Uri server, string apiKey) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = server };

    public string ApiKey { get; } = apiKey;

    public Task<ApiResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<ApiResponse> PostAsync(string path, object? body = null) => SendAsync(HttpMethod.Post, path, body);

    public Task<ApiResponse> PatchAsync(string path, object? body) => SendAsync(HttpMethod.Patch, path, body);

    public Task<ApiResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body)
    {
        using var message = new HttpRequestMessage(method, path);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        if (body is not null)
        {
            message.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(message);
        return await Read(response);
    }

    /// <summary>Creates an organization with the bootstrap key; returns a client with its admin key.</summary>
    public async Task<AdminClient> CreateOrgAsync(string name)
    {
        var r = (await PostAsync("api/v1/orgs", new { name })).Expect(HttpStatusCode.Created);
        return new AdminClient(_http.BaseAddress!, r.Json["admin_key"]!.GetValue<string>());
    }

    public async Task<AdminClient> CreateKeyAsync(string name, string role)
    {
        var r = (await PostAsync("api/v1/api-keys", new { name, role })).Expect(HttpStatusCode.Created);
        return new AdminClient(_http.BaseAddress!, r.Json["key"]!.GetValue<string>());
    }

    internal static async Task<ApiResponse> Read(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true)
        {
            json = JsonNode.Parse(text);
        }

        return new ApiResponse(response.StatusCode, json, text);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>An agent speaking raw HTTP with RFC 9421 signatures, with knobs to forge every part of a request.</summary>
public sealed class AgentClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _server;

    public AgentClient(Uri server, string name, Ed25519KeyPair? key = null)
    {
        _server = server;
        _http = new HttpClient { BaseAddress = server };
        Name = name;
        Key = key ?? Ed25519KeyPair.Generate();
    }

    public string Name { get; }

    public Ed25519KeyPair Key { get; set; }

    public string KeyId => AgentIdentity.AipIdOf(Key.PublicKey);

    public string? Id { get; private set; }

    public Func<long> Clock { get; set; } = () => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public async Task<ApiResponse> RegisterAsync(string apiKey, string? isolation = null)
    {
        var r = await SendAsync(HttpMethod.Post, "api/v1/agents", new { name = Name, aip_id = KeyId, isolation }, apiKey: apiKey);
        if (r.Status is HttpStatusCode.Created or HttpStatusCode.OK)
        {
            Id = r.Json["id"]!.GetValue<string>();
        }

        return r;
    }

    public Task<ApiResponse> VerifyAsync(string capability, bool jit = false, string? resource = null, double? timeoutSeconds = null) =>
        SendAsync(HttpMethod.Post, "api/v1/verifications", new { action_id = Guid.NewGuid().ToString(), capability, jit, resource, jit_timeout_seconds = timeoutSeconds ?? 300 });

    public Task<ApiResponse> SendAsync(HttpMethod method, string path, object? body, string? apiKey = null, Action<HttpRequestMessage>? tamper = null,
        string? nonce = null, long? created = null, byte[]? signedBody = null)
    {
        byte[] bytes = body is null ? [] : body is byte[] raw ? raw : Encoding.UTF8.GetBytes(body as string ?? JsonSerializer.Serialize(body));
        var uri = new Uri(_server, path);
        var message = new HttpRequestMessage(method, uri);
        if (bytes.Length > 0 || method != HttpMethod.Get)
        {
            message.Content = new ByteArrayContent(bytes);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        string digest = HttpMessageSignature.ContentDigest(signedBody ?? bytes);
        var (input, signature) = HttpMessageSignature.Sign(method.Method, uri, digest, created ?? Clock(), nonce ?? HttpMessageSignature.NewNonce(), KeyId, Key);
        message.Headers.TryAddWithoutValidation("Content-Digest", digest);
        message.Headers.TryAddWithoutValidation("Signature-Input", input);
        message.Headers.TryAddWithoutValidation("Signature", signature);
        if (apiKey is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        tamper?.Invoke(message);
        return SendRawAsync(message);
    }

    private async Task<ApiResponse> SendRawAsync(HttpRequestMessage message)
    {
        using (message)
        using (var response = await _http.SendAsync(message))
        {
            return await AdminClient.Read(response);
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>
/// Temporary directories of this test run, all under one root named after the test process: server data directories
/// hold databases of hundreds of megabytes after load and property runs, and runs must not fill /tmp. The root is
/// removed when the process exits normally; a test host that is stopped before its exit handlers run leaves it, so each
/// run first removes the roots of earlier test processes that are no longer alive.
/// </summary>
public static class TestDirectories
{
    private const string RootPrefix = "aim-server-tests-";

    private static readonly Lazy<string> Root = new(() =>
    {
        RemoveRootsOfEndedRuns();
        string root = Directory.CreateTempSubdirectory($"{RootPrefix}{Environment.ProcessId}-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    internal static void RemoveRootsOfEndedRuns()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), RootPrefix + "*"))
        {
            // aim-server-tests-<pid>-<random>: only a root whose process is gone (an older name without a pid is left alone).
            string rest = Path.GetFileName(dir)[RootPrefix.Length..];
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(rest[..dash], out int pid) && pid != Environment.ProcessId && !IsAlive(pid))
            {
                TryDelete(dir);
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a file still held by a child process keeps the root until a later run removes it.
        }
    }

    /// <summary>A new private (0700) directory named after <paramref name="prefix"/>.</summary>
    public static DirectoryInfo Create(string prefix)
    {
        string path = Path.Combine(Root.Value, prefix + "-" + Guid.NewGuid().ToString("N")[..12]);
        return OperatingSystem.IsWindows()
            ? Directory.CreateDirectory(path)
            : Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
