using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aim.Audit;
using Aim.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Aim.AspNetCore.Tests;

public static class Calls
{
    public static int Reads;
    public static int Refunds;
    public static int ControllerRefunds;
    public static int ControllerReads;
}

public static class Handlers
{
    [SecureAction("db:read", Resource = "orders")]
    public static IResult GetOrder(string id, HttpContext context)
    {
        Interlocked.Increment(ref Calls.Reads);
        return Results.Ok(new { id });
    }

    [SecureAction("email:send")]
    public static IResult Refund(string id)
    {
        Interlocked.Increment(ref Calls.Refunds);
        return Results.Ok();
    }

    public static string Open() => "open";
}

[ApiController]
[Route("mvc")]
public sealed class OrdersController : ControllerBase
{
    [HttpGet("orders/{id}")]
    [SecureAction("db:read")]
    public IActionResult Get(string id)
    {
        Interlocked.Increment(ref Calls.ControllerReads);
        return Ok(new { id });
    }

    [HttpPost("refunds/{id}")]
    [SecureAction("email:send")]
    public IActionResult Refund(string id)
    {
        Interlocked.Increment(ref Calls.ControllerRefunds);
        return Ok();
    }

    [HttpGet("open")]
    public string Open() => "open";
}

/// <summary>A real Kestrel app on loopback with the embedded engine granting db:read only.</summary>
public sealed class AimApp : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-asp-").FullName;
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    public EmbeddedEngine Engine => (EmbeddedEngine)_app!.Services.GetRequiredService<IAimEngine>();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddAim(o =>
        {
            o.AgentName = "web-agent";
            o.Home = _home;
            o.Grant("db:read");
        });
        builder.Services.AddControllers().AddApplicationPart(typeof(OrdersController).Assembly).AddAim();
        _app = builder.Build();
        _app.MapGet("/orders/{id}", Handlers.GetOrder).WithAim();
        _app.MapPost("/refunds/{id}", Handlers.Refund).WithAim();
        _app.MapGet("/open", Handlers.Open).WithAim();
        _app.MapGet("/mapped", () => "mapped").WithAim(new ActionDescriptor("files:delete"));
        _app.MapControllers();
        await _app.StartAsync();
        Client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public async Task<IReadOnlyList<AuditRecord>> AuditAsync()
    {
        await Engine.AuditLog.FlushAsync();
        return Engine.AuditLog.Read(0, (int)Engine.AuditLog.Count).Select(e => e.Record).ToList();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        AimRuntime.SetGlobal(null);
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class EndpointTests(AimApp app) : IClassFixture<AimApp>
{
    [Fact]
    public async Task Granted_endpoint_runs_and_is_audited()
    {
        var response = await app.Client.GetAsync("/orders/o-1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var audit = await app.AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Authorized && r.Capability == "db:read" && r.Resource == "orders" && r.Method!.EndsWith("Handlers.GetOrder(string, Microsoft.AspNetCore.Http.HttpContext)"));
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.Capability == "db:read");
    }

    [Fact]
    public async Task Denied_endpoint_answers_403_problem_details_and_never_runs_the_handler()
    {
        int before = Calls.Refunds;
        var response = await app.Client.PostAsync("/refunds/o-2", null);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(403, problem.GetProperty("status").GetInt32());
        Assert.Equal("email:send", problem.GetProperty("capability").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("reason_code").GetString()));
        Assert.Equal(before, Calls.Refunds);
        Assert.Contains(await app.AuditAsync(), r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
    }

    [Fact]
    public async Task Explicit_action_secures_a_lambda()
    {
        var response = await app.Client.GetAsync("/mapped");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Endpoint_without_SecureAction_is_left_alone()
    {
        Assert.Equal("open", await app.Client.GetStringAsync("/open"));
    }

    [Fact]
    public async Task Delegation_token_in_the_request_goes_through_step_4()
    {
        // The runtime has no chain check configured, so a delegation it cannot verify is denied (fail closed).
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/o-3");
        request.Headers.Add("X-AIP-Token", "not-a-verifiable-token");
        int before = Calls.Reads;
        var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(before, Calls.Reads);
    }

    [Fact]
    public async Task Conflicting_tokens_are_refused_with_the_AIP_code()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/o-4");
        request.Headers.Add("X-AIP-Token", "a.b.c");
        request.Headers.TryAddWithoutValidation("Authorization", "AIP d.e.f");
        var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("aip_token_malformed", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Mvc_granted_action_runs()
    {
        var response = await app.Client.GetAsync("/mvc/orders/9");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(await app.AuditAsync(), r => r.Kind == AuditEntryKind.Outcome && r.Method!.Contains("OrdersController.Get("));
    }

    [Fact]
    public async Task Mvc_denied_action_answers_403_and_never_runs()
    {
        int before = Calls.ControllerRefunds;
        var response = await app.Client.PostAsync("/mvc/refunds/9", null);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("email:send", problem.GetProperty("capability").GetString());
        Assert.Equal(before, Calls.ControllerRefunds);
    }

    [Fact]
    public async Task Mvc_action_without_SecureAction_is_left_alone()
    {
        Assert.Equal("open", await app.Client.GetStringAsync("/mvc/open"));
    }
}

public sealed class ProblemDetailsTests
{
    [Fact]
    public void Statuses_follow_the_refusal_kind()
    {
        Assert.Equal(403, AimProblemDetails.StatusFor(new ActionDeniedException("a:b", "x", "no")));
        Assert.Equal(403, AimProblemDetails.StatusFor(new ApprovalTimeoutException("a:b", TimeSpan.FromSeconds(1))));
        Assert.Equal(503, AimProblemDetails.StatusFor(new AimUnavailableException("down")));
        Assert.Equal(500, AimProblemDetails.StatusFor(new AimConfigurationException("none")));
        var problem = AimProblemDetails.Create(new AimConfigurationException("secret path /etc/x"));
        Assert.DoesNotContain("/etc/x", problem.Detail);
    }
}
