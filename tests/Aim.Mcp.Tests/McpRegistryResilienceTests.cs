using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;

namespace Aim.Mcp.Tests;

/// <summary>
/// The registry client's Microsoft.Extensions.Http.Resilience pipeline: reads retried on transient failures, writes sent
/// once, and a typed error (never a hang or an untyped exception) once the pipeline gives up.
/// </summary>
public sealed class McpRegistryResilienceTests
{
    private const string EmptyList = """{"items":[]}""";
    private static readonly Uri Server = new("http://registry.test/");
    private static readonly TimeSpan FastRetry = TimeSpan.FromMilliseconds(5);

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    public async Task A_read_is_retried_after_a_transient_answer(HttpStatusCode transient)
    {
        var handler = new ScriptedHandler(n => n < 3 ? new HttpResponseMessage(transient) : Json(HttpStatusCode.OK, EmptyList));
        using var registry = new McpServerRegistry(Server, "key", handler, retryDelay: FastRetry);

        Assert.Empty(await registry.ListAsync());
        Assert.Equal(3, handler.Calls);
    }

    [Fact]
    public async Task A_read_is_retried_after_a_connection_error()
    {
        var handler = new ScriptedHandler(n => n == 1 ? throw new HttpRequestException("connection reset") : Json(HttpStatusCode.OK, EmptyList));
        using var registry = new McpServerRegistry(Server, "key", handler, retryDelay: FastRetry);

        Assert.Empty(await registry.ListAsync());
        Assert.Equal(2, handler.Calls);
    }

    [Fact]
    public async Task A_read_that_keeps_failing_is_aim_unavailable_after_the_retries()
    {
        var handler = new ScriptedHandler(_ => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { Content = new StringContent("<html>down</html>") });
        using var registry = new McpServerRegistry(Server, "key", handler, maxRetries: 2, retryDelay: FastRetry);

        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.ListAsync());
        Assert.Equal("aim_unavailable", error.Code);
        Assert.Equal(503, error.Status);
        Assert.Equal(3, handler.Calls);
    }

    [Fact]
    public async Task A_registration_is_sent_once_even_when_the_answer_is_transient()
    {
        // A POST whose answer was lost may already have created the registration: never replay it.
        var handler = new ScriptedHandler(_ => Json(HttpStatusCode.ServiceUnavailable, """{"error":{"code":"aim_unavailable","message":"busy"}}"""));
        using var registry = new McpServerRegistry(Server, "key", handler, retryDelay: FastRetry);

        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.RegisterAsync("tools", "https://tools.test/", new byte[32]));
        Assert.Equal("aim_unavailable", error.Code);
        Assert.Equal(1, handler.Calls);
        Assert.Equal(HttpMethod.Post, handler.Methods.Single());
    }

    [Fact]
    public async Task A_refusal_is_not_retried()
    {
        var handler = new ScriptedHandler(_ => Json(HttpStatusCode.Forbidden, """{"error":{"code":"role_forbidden","message":"no"}}"""));
        using var registry = new McpServerRegistry(Server, "key", handler, retryDelay: FastRetry);

        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.ListAsync());
        Assert.Equal("role_forbidden", error.Code);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task A_refusal_without_an_error_body_is_still_a_typed_error()
    {
        var handler = new ScriptedHandler(_ => new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("") });
        using var registry = new McpServerRegistry(Server, "key", handler, retryDelay: FastRetry);

        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.ListAsync());
        Assert.Equal("http_404", error.Code);
        Assert.Equal(404, error.Status);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task A_server_that_never_answers_is_aim_unavailable_within_the_timeout()
    {
        var handler = new ScriptedHandler(_ => null);
        using var registry = new McpServerRegistry(Server, "key", handler, timeout: TimeSpan.FromSeconds(3), retryDelay: FastRetry); // room for a cold process to retry

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<McpServerRegistryException>(() => registry.ListAsync());
        Assert.Equal("aim_unavailable", error.Code);
        Assert.True(handler.Calls >= 2, $"a timed-out attempt should be retried, saw {handler.Calls}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task A_caller_cancellation_is_not_turned_into_aim_unavailable()
    {
        var handler = new ScriptedHandler(_ => null);
        using var registry = new McpServerRegistry(Server, "key", handler, retryDelay: FastRetry);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => registry.ListAsync(cts.Token));
    }

    [Fact]
    public void Nonsense_settings_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServerRegistry(Server, "key", timeout: TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServerRegistry(Server, "key", maxRetries: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new McpServerRegistry(Server, "key", retryDelay: TimeSpan.Zero));
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    /// <summary>Answers attempt n (from 1) with the script's response; null means never answer.</summary>
    private sealed class ScriptedHandler(Func<int, HttpResponseMessage?> script) : HttpMessageHandler
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ConcurrentQueue<HttpMethod> Methods { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Methods.Enqueue(request.Method);
            var answer = script(Interlocked.Increment(ref _calls));
            if (answer is null)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return answer!;
        }
    }
}
