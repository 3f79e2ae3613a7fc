using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Aim.Engine;
using Aim.Protocol;
using Aim.Remote;
using Polly.CircuitBreaker;

namespace Aim.Server.Tests;

/// <summary>
/// The remote engine's resilience policy against a scripted server: which calls are retried, when the circuit breaker
/// opens, and that every failure fails closed (the action's body never runs) with <see cref="AimUnavailableException"/>.
/// A verification POST is never retried: every attempt is signed with a fresh nonce, so the server could not tell a
/// retry from a second request and would record two decisions. Registration (the server answers an existing agent
/// with the same name and key with 200) and reads (the long-poll GET) are idempotent and retried with jittered backoff.
/// </summary>
public sealed class RemoteResilienceTests
{
    [Fact]
    public async Task Verification_is_never_retried_and_a_server_error_fails_closed()
    {
        var server = new ScriptedServer { Verification = _ => Respond(HttpStatusCode.ServiceUnavailable, """{"error":{"code":"overloaded","message":"busy"}}""") };
        await using var runtime = server.Runtime("no-retry");
        bool ran = false;

        await Assert.ThrowsAsync<AimUnavailableException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => { ran = true; return Task.CompletedTask; }));

        Assert.False(ran);
        Assert.Equal(1, server.Count("POST api/v1/verifications"));
    }

    [Fact]
    public async Task Verification_that_cannot_connect_is_not_retried_and_fails_closed()
    {
        var server = new ScriptedServer { Verification = _ => throw new HttpRequestException("connection refused") };
        await using var runtime = server.Runtime("no-retry-connect");
        bool ran = false;

        var ex = await Assert.ThrowsAsync<AimUnavailableException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => { ran = true; return Task.CompletedTask; }));

        Assert.False(ran);
        Assert.IsType<HttpRequestException>(ex.InnerException);
        Assert.Equal(1, server.Count("POST api/v1/verifications"));
    }

    [Fact]
    public async Task Audit_append_is_never_retried_and_a_failed_append_keeps_the_body_from_running()
    {
        var server = new ScriptedServer { Audit = _ => Respond(HttpStatusCode.BadGateway, "{}") };
        await using var runtime = server.Runtime("no-retry-audit");
        bool ran = false;

        await Assert.ThrowsAsync<AimUnavailableException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => { ran = true; return Task.CompletedTask; }));

        Assert.False(ran); // the "authorized" record could not be appended, so the action did not run
        Assert.Equal(1, server.Count("POST api/v1/audit/records"));
    }

    [Fact]
    public async Task Idempotent_registration_is_retried_each_attempt_signed_with_a_fresh_nonce()
    {
        int failures = 2;
        var server = new ScriptedServer
        {
            Registration = _ => Interlocked.Decrement(ref failures) >= 0
                ? Respond(HttpStatusCode.BadGateway, "{}")
                : Respond(HttpStatusCode.Created, """{"id":"agent-1"}"""),
        };
        await using var runtime = server.Runtime("retried");

        Assert.Equal(7, await runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => Task.FromResult(7)));

        Assert.Equal(3, server.Count("POST api/v1/agents"));
        var nonces = server.Requests.Where(r => r.Key == "POST api/v1/agents").Select(r => r.Nonce).ToList();
        Assert.Equal(nonces.Count, nonces.Distinct().Count());
        Assert.Equal(1, server.Count("POST api/v1/verifications"));
    }

    [Fact]
    public async Task Jit_long_poll_is_retried_after_transient_errors_then_runs_when_approved()
    {
        int failures = 2;
        var server = new ScriptedServer
        {
            Verification = _ => Respond(HttpStatusCode.Created, """{"id":"v1","status":"pending"}"""),
            Poll = _ => Task.FromResult(Interlocked.Decrement(ref failures) >= 0
                ? Respond(HttpStatusCode.ServiceUnavailable, "{}")
                : Respond(HttpStatusCode.OK, """{"id":"v1","status":"approved","decided_by":"alice"}""")),
        };
        await using var runtime = server.Runtime("polled");

        Assert.Equal("done", await runtime.InvokeAsync(new ActionDescriptor("email:send", jitAccess: true, jitTimeoutSeconds: 60), null, () => Task.FromResult("done")));

        Assert.Equal(3, server.Count("GET api/v1/verifications/v1"));
        Assert.Equal(1, server.Count("POST api/v1/verifications"));
    }

    [Fact]
    public async Task Circuit_breaker_opens_after_repeated_failures_and_then_fails_closed_without_calling_the_server()
    {
        var server = new ScriptedServer { Verification = _ => Respond(HttpStatusCode.InternalServerError, "{}") };
        await using var runtime = server.Runtime("breaker");
        int ran = 0;

        // One breaker for the server's calls: it samples at least 8 (the successful registration is the first) and opens
        // once half of them failed, here after the 7th failing verification.
        for (int i = 0; i < 7; i++)
        {
            await Assert.ThrowsAsync<AimUnavailableException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => { ran++; return Task.CompletedTask; }));
        }

        Assert.Equal(1, server.Count("POST api/v1/agents"));
        Assert.Equal(7, server.Count("POST api/v1/verifications"));
        var open = await Assert.ThrowsAsync<AimUnavailableException>(() => runtime.InvokeAsync(new ActionDescriptor("db:read"), null, () => { ran++; return Task.CompletedTask; }));

        Assert.IsAssignableFrom<BrokenCircuitException>(open.InnerException);
        Assert.Equal(7, server.Count("POST api/v1/verifications")); // refused locally: the server was not asked
        Assert.Equal(0, ran);
    }

    [Fact]
    public async Task Jit_wait_cancelled_by_the_caller_never_runs_the_body()
    {
        var server = new ScriptedServer
        {
            Verification = _ => Respond(HttpStatusCode.Created, """{"id":"v2","status":"pending"}"""),
            Poll = async ct =>
            {
                await Task.Delay(Timeout.Infinite, ct); // a long poll that would outlast the test
                return Respond(HttpStatusCode.OK, "{}");
            },
        };
        await using var runtime = server.Runtime("cancelled-wait");
        using var cts = new CancellationTokenSource();
        bool ran = false;
        var call = runtime.InvokeAsync(new ActionDescriptor("email:send", jitAccess: true, jitTimeoutSeconds: 300), null, () => { ran = true; return Task.CompletedTask; }, cts.Token);
        await server.WaitForAsync("GET api/v1/verifications/v2");

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(ran);
    }

    private static HttpResponseMessage Respond(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    /// <summary>An in-memory Aim server whose answers each test scripts; it records every request it sees.</summary>
    private sealed class ScriptedServer
    {
        public Func<CancellationToken, HttpResponseMessage> Registration { get; init; } = _ => Respond(HttpStatusCode.Created, """{"id":"agent-1"}""");

        public Func<CancellationToken, HttpResponseMessage> Verification { get; init; } = _ => Respond(HttpStatusCode.Created, """{"id":"v0","status":"approved"}""");

        public Func<CancellationToken, HttpResponseMessage> Audit { get; init; } = _ => Respond(HttpStatusCode.Created, """{"index":0}""");

        public Func<CancellationToken, Task<HttpResponseMessage>> Poll { get; init; } = _ => Task.FromResult(Respond(HttpStatusCode.OK, """{"id":"v0","status":"approved"}"""));

        public ConcurrentQueue<(string Key, string? Nonce)> Requests { get; } = new();

        public int Count(string key) => Requests.Count(r => r.Key == key);

        public async Task WaitForAsync(string key)
        {
            for (int i = 0; i < 300 && Count(key) == 0; i++)
            {
                await Task.Delay(50);
            }

            Assert.True(Count(key) > 0, $"The engine never sent {key}.");
        }

        public AimRuntime Runtime(string agent)
        {
            var options = new AimOptions
            {
                AgentName = agent,
                ServerUrl = new Uri("http://aim.test/"),
                ApiKey = "aim_test_key",
                Home = TestDirectories.Create("aim-remote-home").FullName,
            };
            return new AimRuntime(RemoteEngine.Create(options, primaryHandler: () => new Handler(this)));
        }

        private async Task<HttpResponseMessage> AnswerAsync(HttpRequestMessage request, CancellationToken ct)
        {
            string path = request.RequestUri!.AbsolutePath.TrimStart('/');
            string key = $"{request.Method} {path}";
            string? nonce = request.Headers.TryGetValues("Signature-Input", out var input)
                ? input.Single().Split(';').FirstOrDefault(p => p.StartsWith("nonce=", StringComparison.Ordinal))
                : null;
            Requests.Enqueue((key, nonce));
            return key switch
            {
                "POST api/v1/agents" => Registration(ct),
                "POST api/v1/verifications" => Verification(ct),
                _ when request.Method == HttpMethod.Get && path.StartsWith("api/v1/verifications/", StringComparison.Ordinal) => await Poll(ct),
                "POST api/v1/audit/records" => Audit(ct),
                _ => Respond(HttpStatusCode.OK, "{}"),
            };
        }

        private sealed class Handler(ScriptedServer server) : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
                server.AnswerAsync(request, cancellationToken);
        }
    }
}
