using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Protocol;
using Aim.Server;
using Microsoft.AspNetCore.Builder;
using Npgsql;

namespace Aim.Equivalence.Tests;

/// <summary>A clock the suite sets to each case's moment.</summary>
public sealed class CaseClock : TimeProvider
{
    private long _ticks = CaseGenerator.Monday10.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Set(DateTimeOffset now) => Interlocked.Exchange(ref _ticks, now.UtcTicks);
}

/// <summary>What one call decided on one path.</summary>
public readonly record struct Outcome(bool Allowed, string? Code)
{
    public static Outcome Allow => new(true, null);

    public override string ToString() => Allowed ? "allow" : "deny:" + Code;
}

/// <summary>A real Aim server on 127.0.0.1 (Kestrel), SQLite or PostgreSQL.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http;

    private TestServer(WebApplication app, Uri url, string adminKey, CaseClock clock)
    {
        _app = app;
        Url = url;
        AdminKey = adminKey;
        Clock = clock;
        _http = new HttpClient { BaseAddress = url };
    }

    public Uri Url { get; }

    public string AdminKey { get; }

    public CaseClock Clock { get; }

    public static async Task<TestServer> StartAsync(string? postgres, string dataDirectory, string adminKey, Action<AimServerOptions> configure)
    {
        var clock = new CaseClock();
        var app = await AimServerHost.BuildAsync(["--urls", "http://127.0.0.1:0"], o =>
        {
            o.DataDirectory = dataDirectory;
            o.BootstrapAdminKey = adminKey;
            o.PostgresConnectionString = postgres;
            o.TimeProvider = clock;
            configure(o);
        });
        await app.StartAsync();
        var url = new Uri(app.Urls.First(u => u.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) + "/");
        return new TestServer(app, url, adminKey, clock);
    }

    public static string NewPostgresDatabase()
    {
        var baseConnection = Environment.GetEnvironmentVariable("AIM_TEST_POSTGRES") is { Length: > 0 } s
            ? s
            : throw new InvalidOperationException("AIM_TEST_POSTGRES is not set: scripts/test.sh starts PostgreSQL for this suite.");
        string name = "aim_eq_" + Guid.NewGuid().ToString("N")[..12];
        using (var connection = new NpgsqlConnection(baseConnection))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(baseConnection) { Database = name }.ConnectionString;
    }

    /// <summary>An admin call; throws unless it succeeds.</summary>
    public async Task<JsonNode> AdminAsync(HttpMethod method, string path, object? body = null)
    {
        using var message = new HttpRequestMessage(method, path);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        if (body is not null)
        {
            message.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(message);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Registers an agent (RFC 9421-signed by its own key, proof of possession) and returns its server id.</summary>
    public async Task<string> RegisterAsync(string name, Ed25519KeyPair key, string aipId)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(new { name, aip_id = aipId });
        var uri = new Uri(Url, "api/v1/agents");
        using var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        string digest = HttpMessageSignature.ContentDigest(body);
        var (input, signature) = HttpMessageSignature.Sign("POST", uri, digest, Clock.GetUtcNow().ToUnixTimeSeconds(), HttpMessageSignature.NewNonce(), aipId, key);
        message.Headers.TryAddWithoutValidation("Content-Digest", digest);
        message.Headers.TryAddWithoutValidation("Signature-Input", input);
        message.Headers.TryAddWithoutValidation("Signature", signature);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        using var response = await _http.SendAsync(message);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"register {name}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// Decides the servers' pending approvals the way each case's approver would (by agent id), so a JIT call on the server
/// gets the same answer as the embedded engine's approval handler.
/// </summary>
public sealed class ServerApprover : IAsyncDisposable
{
    private readonly TestServer _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _answers = new(StringComparer.Ordinal);

    public ServerApprover(TestServer server)
    {
        _server = server;
        _loop = Task.Run(LoopAsync);
    }

    public void Answer(string agentId, bool approves) => _answers[agentId] = approves;

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var pending = await _server.AdminAsync(HttpMethod.Get, "api/v1/approvals?status=pending");
                foreach (var item in pending["items"]!.AsArray())
                {
                    string id = item!["id"]!.GetValue<string>();
                    if (_answers.TryGetValue(item["agent_id"]!.GetValue<string>(), out bool approves))
                    {
                        await _server.AdminAsync(HttpMethod.Post, $"api/v1/approvals/{id}/{(approves ? "approve" : "deny")}", new { reason = "equivalence suite" });
                    }
                }
            }
            catch (Exception) when (!_stop.IsCancellationRequested)
            {
                // A decision raced with another: the next round sees the stored state.
            }

            try
            {
                await Task.Delay(15, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }
}
