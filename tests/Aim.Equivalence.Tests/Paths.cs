using System.IO.Pipelines;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Approvals;
using Aim.Authorization;
using Aim.Engine;
using Aim.Intent.Check;
using Aim.Mcp;
using Aim.Remote;
using Aim.Tokens.Runtime;
using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Aim.AspNetCore;
using Aim.AI;

namespace Aim.Equivalence.Tests;

/// <summary>Everything one case's paths share: the agent (its key store), its policy, tokens and approver.</summary>
public sealed class CaseContext(Case @case, string home, string agentName, string aipId, string? token, string policyFile, CaseClock clock, AipVerifier verifier)
{
    public Case Case { get; } = @case;

    public string Home { get; } = home;

    public string AgentName { get; } = agentName;

    public string AipId { get; } = aipId;

    public string? Token { get; } = token;

    public string PolicyFile { get; } = policyFile;

    public CaseClock Clock { get; } = clock;

    public AipVerifier Verifier { get; } = verifier;

    /// <summary>Options of an embedded engine for this case, with an audit log of its own (so budgets start fresh).</summary>
    public AimOptions Embedded(string path)
    {
        var options = new AimOptions
        {
            AgentName = AgentName,
            Home = Home,
            PolicyFile = PolicyFile,
            AuditLogPath = Path.Combine(Home, "audit-" + path + ".db"),
            TimeProvider = Clock,
            ApprovalHandler = new DelegateApprovalHandler(request =>
            {
                if (request.Evidence is not null)
                {
                    Interlocked.Increment(ref stepUps);
                }

                return new ApprovalDecision(Case.Approves, "suite-approver", Case.Approves ? null : "equivalence suite");
            }),
            IntentCheck = new IntentClassifierCheck(timeProvider: Clock),
            ChainCheck = new AipChainCheck(Verifier),
            DurableAuditFrom = RiskLevel.Critical,
        };
        foreach (var (key, value) in Case.Attributes)
        {
            options.Attributes[key] = value;
        }

        return options;
    }

    public AimRuntime Runtime(IAimEngine engine) => new(engine, Clock, attributes: Case.Attributes);

    private static int stepUps;

    /// <summary>How many approvals the embedded paths were asked for because step 5 stepped an action up.</summary>
    public static int StepUps => Volatile.Read(ref stepUps);
}

/// <summary>One way an action is decided: an engine, or a front door over the embedded engine.</summary>
public interface IPath : IAsyncDisposable
{
    string Name { get; }

    Task StartAsync(CaseContext context);

    Task<Outcome> CallAsync(Call call);
}

/// <summary>The descriptors and the reflection handles of the secured methods (looked up once).</summary>
public static class Actions
{
    public static readonly SecuredActions Instance = new();

    public static MethodInfo Method(ActionKind kind) => typeof(SecuredActions).GetMethod(kind.ToString())!;

    public static ActionDescriptor Descriptor(ActionKind kind) =>
        ActionResolver.Resolve(Method(kind)).Action ?? throw new InvalidOperationException($"{kind} is not in the catalog.");

    public static object?[] Arguments(Call call) => call.Action == ActionKind.Refund
        ? [call.Arguments[0], decimal.Parse(call.Arguments[1], System.Globalization.CultureInfo.InvariantCulture)]
        : [.. call.Arguments];

    public static IEnumerable<KeyValuePair<string, object?>> Named(Call call)
    {
        var names = Method(call.Action).GetParameters();
        var values = Arguments(call);
        for (int i = 0; i < names.Length; i++)
        {
            yield return new(names[i].Name!, values[i]);
        }
    }

    /// <summary>Runs a call through the runtime and turns a refusal into an outcome.</summary>
    public static async Task<Outcome> DecideAsync(Func<Task> call)
    {
        try
        {
            await call();
            return Outcome.Allow;
        }
        catch (ActionDeniedException ex)
        {
            return new Outcome(false, ex.ReasonCode);
        }
        catch (ApprovalTimeoutException)
        {
            return new Outcome(false, "approval_timeout");
        }
    }
}

/// <summary>The embedded engine, called through the runtime's entry with the descriptor.</summary>
public sealed class EmbeddedPath : IPath
{
    private AimRuntime? _runtime;
    private CaseContext? _context;

    public string Name => "embedded";

    public Task StartAsync(CaseContext context)
    {
        _context = context;
        _runtime = context.Runtime(EmbeddedEngine.Create(context.Embedded(Name)));
        return Task.CompletedTask;
    }

    public Task<Outcome> CallAsync(Call call) => Actions.DecideAsync(() =>
    {
        using var scope = _context!.Token is { } token ? AimDelegation.Use(token) : null;
        return _runtime!.InvokeAsync(Actions.Descriptor(call.Action), Actions.Arguments(call), () => Task.FromResult(Bodies.Ran(call.Action.ToString())));
    });

    public async ValueTask DisposeAsync()
    {
        if (_runtime is not null)
        {
            await _runtime.DisposeAsync();
        }
    }
}

/// <summary>The remote engine against one or two server replicas (calls alternate between the replicas).</summary>
public sealed class RemotePath(string name, IReadOnlyList<TestServer> replicas, Func<CaseContext, Task> prepare) : IPath
{
    private readonly List<AimRuntime> _runtimes = [];
    private CaseContext? _context;
    private int _next;

    public string Name => name;

    public async Task StartAsync(CaseContext context)
    {
        _context = context;
        await prepare(context);
        foreach (var replica in replicas)
        {
            var options = new AimOptions
            {
                AgentName = context.AgentName,
                Home = context.Home,
                ServerUrl = replica.Url,
                ApiKey = replica.AdminKey,
                TimeProvider = context.Clock,
                ShareActionText = true,
            };
            _runtimes.Add(context.Runtime(RemoteEngine.Create(options)));
        }
    }

    public Task<Outcome> CallAsync(Call call) => Actions.DecideAsync(() =>
    {
        var runtime = _runtimes[_next++ % _runtimes.Count];
        using var scope = _context!.Token is { } token ? AimDelegation.Use(token) : null;
        return runtime.InvokeAsync(Actions.Descriptor(call.Action), Actions.Arguments(call), () => Task.FromResult(Bodies.Ran(call.Action.ToString())));
    });

    public async ValueTask DisposeAsync()
    {
        foreach (var runtime in _runtimes)
        {
            await runtime.DisposeAsync();
        }
    }
}

/// <summary>Base of the front doors: a fresh embedded runtime per case, made the process-wide one while the case runs.</summary>
public abstract class FrontDoorPath : IPath
{
    protected AimRuntime? Runtime { get; private set; }

    protected CaseContext? Context { get; private set; }

    public abstract string Name { get; }

    public virtual Task StartAsync(CaseContext context)
    {
        Context = context;
        Runtime = context.Runtime(EmbeddedEngine.Create(context.Embedded(Name)));
        return Task.CompletedTask;
    }

    public async Task<Outcome> CallAsync(Call call)
    {
        AimRuntime.SetGlobal(Runtime);
        try
        {
            return await CallThroughAsync(call);
        }
        finally
        {
            AimRuntime.SetGlobal(null);
        }
    }

    protected abstract Task<Outcome> CallThroughAsync(Call call);

    public async ValueTask DisposeAsync()
    {
        if (Runtime is not null)
        {
            await Runtime.DisposeAsync();
        }
    }
}

/// <summary>Generated interceptors: the call sites below are plain method calls, intercepted at compile time.</summary>
public sealed class InterceptorPath : FrontDoorPath
{
    public override string Name => "interceptors";

    protected override Task<Outcome> CallThroughAsync(Call call) => Actions.DecideAsync(() =>
    {
        using var scope = Context!.Token is { } token ? AimDelegation.Use(token) : null;
        var a = Actions.Instance;
        var args = call.Arguments;
        _ = call.Action switch
        {
            ActionKind.ReadTable => a.ReadTable(args[0]),
            ActionKind.ReadUsers => a.ReadUsers(),
            ActionKind.SendEmail => a.SendEmail(args[0], args[1]),
            ActionKind.Search => a.Search(args[0]),
            ActionKind.Refund => a.Refund(args[0], (decimal)Actions.Arguments(call)[1]!),
            _ => a.RunCommand(args[0]),
        };
        return Task.CompletedTask;
    });
}

/// <summary>Microsoft.Extensions.AI: each method as an AIFunction, wrapped with WithAim().</summary>
public sealed class AIFunctionPath : FrontDoorPath
{
    private static readonly Dictionary<ActionKind, AIFunction> Functions = Enum.GetValues<ActionKind>()
        .ToDictionary(k => k, k => (AIFunction)AIFunctionFactory.Create(Actions.Method(k), Actions.Instance).WithAim());

    public override string Name => "ai-function";

    protected override Task<Outcome> CallThroughAsync(Call call) => Actions.DecideAsync(async () =>
    {
        using var scope = Context!.Token is { } token ? AimDelegation.Use(token) : null;
        await Functions[call.Action].InvokeAsync(new AIFunctionArguments(Actions.Named(call).ToDictionary()));
    });
}

/// <summary>ASP.NET Core minimal API endpoints secured with WithAim(), called over HTTP on 127.0.0.1.</summary>
public sealed class EndpointPath(Uri app) : FrontDoorPath
{
    private static readonly HttpClient Http = new();

    public override string Name => "aspnetcore-endpoint";

    public static void Map(WebApplication app)
    {
        foreach (var kind in Enum.GetValues<ActionKind>())
        {
            var method = Actions.Method(kind);
            var types = method.GetParameters().Select(p => p.ParameterType).Append(method.ReturnType).ToArray();
            var handler = method.CreateDelegate(System.Linq.Expressions.Expression.GetFuncType(types), Actions.Instance);
            app.MapPost("/" + kind, handler).WithAim();
        }
    }

    protected override async Task<Outcome> CallThroughAsync(Call call)
    {
        string query = string.Join("&", Actions.Named(call).Select(a => a.Key + "=" + Uri.EscapeDataString(Convert.ToString(a.Value, System.Globalization.CultureInfo.InvariantCulture)!)));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app, call.Action + "?" + query));
        if (Context!.Token is { } token)
        {
            request.Headers.Add("X-AIP-Token", token);
        }

        using var response = await Http.SendAsync(request);
        if (response.IsSuccessStatusCode)
        {
            return Outcome.Allow;
        }

        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        return new Outcome(false, (problem?["reason_code"] ?? problem?["code"])?.GetValue<string>());
    }
}

/// <summary>An MCP server (the official SDK, stream transport in process) with the Aim tools/call filter; a real MCP client calls it.</summary>
public sealed class McpPath(McpClient client) : FrontDoorPath
{
    public override string Name => "mcp";

    public static async Task<(IHost Host, McpClient Client)> StartAsync()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddMcpServer()
            .WithStreamServerTransport(toServer.Reader.AsStream(), toClient.Writer.AsStream())
            .WithTools<SecuredActions>()
            .WithAim(o => o.RequireToken = false);
        var host = builder.Build();
        await host.StartAsync();
        var client = await McpClient.CreateAsync(new StreamClientTransport(toServer.Writer.AsStream(), toClient.Reader.AsStream()));
        return (host, client);
    }

    protected override async Task<Outcome> CallThroughAsync(Call call)
    {
        var arguments = Actions.Named(call).ToDictionary(a => a.Key, a => a.Value);
        var tool = ((ModelContextProtocol.Server.McpServerToolAttribute)Actions.Method(call.Action).GetCustomAttributes(typeof(ModelContextProtocol.Server.McpServerToolAttribute), false)[0]).Name!;
        var result = Context!.Token is { } token
            ? await client.CallToolWithAipTokenAsync(tool, arguments, token)
            : await client.CallToolAsync(tool, arguments);
        return result.IsError == true ? new Outcome(false, McpCallRefusal.ReadCode(result)) : Outcome.Allow;
    }
}
