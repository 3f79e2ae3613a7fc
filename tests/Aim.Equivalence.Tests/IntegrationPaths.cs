using System.Net.Http.Headers;
using Aim.AI;
using Aim.Mcp;
using Aim.Mcp.AspNetCore;
using Aim.SemanticKernel;
using Microsoft.Agents.AI;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel;
using ModelContextProtocol.Client;

namespace Aim.Equivalence.Tests;

/// <summary>Turns what a front door threw (or did not) into an outcome, as <see cref="Actions.DecideAsync"/> does.</summary>
internal static class Refusals
{
    public static Outcome Of(Exception? error) => error switch
    {
        null => Outcome.Allow,
        ActionDeniedException denied => new Outcome(false, denied.ReasonCode),
        ApprovalTimeoutException => new Outcome(false, "approval_timeout"),
        _ => throw new InvalidOperationException("The front door failed with an unexpected error.", error),
    };
}

/// <summary>Semantic Kernel through the kernel: each secured method as a kernel function, the kernel guarded by AddAimSecurity().</summary>
public sealed class SemanticKernelPath : FrontDoorPath
{
    private static readonly Dictionary<ActionKind, KernelFunction> Functions = Enum.GetValues<ActionKind>()
        .ToDictionary(k => k, k => KernelFunctionFactory.CreateFromMethod(Actions.Method(k), Actions.Instance, k.ToString()));

    private static readonly Kernel Kernel = new Kernel().AddAimSecurity();

    public override string Name => "semantic-kernel";

    protected override Task<Outcome> CallThroughAsync(Call call) => Actions.DecideAsync(async () =>
    {
        using var scope = Context!.Token is { } token ? AimDelegation.Use(token) : null;
        await Kernel.InvokeAsync(Functions[call.Action], new KernelArguments(Actions.Named(call).ToDictionary()));
    });
}

/// <summary>Semantic Kernel functions as plain AIFunctions (the path SK runs without its filters), guarded by WithAim(kernel).</summary>
public sealed class SemanticKernelAIFunctionPath : FrontDoorPath
{
    private static readonly Dictionary<ActionKind, AIFunction> Functions = Enum.GetValues<ActionKind>()
        .ToDictionary(k => k, k => KernelFunctionFactory.CreateFromMethod(Actions.Method(k), Actions.Instance, k.ToString()).WithAim(new Kernel()));

    public override string Name => "semantic-kernel-ai-function";

    protected override Task<Outcome> CallThroughAsync(Call call) => Actions.DecideAsync(async () =>
    {
        using var scope = Context!.Token is { } token ? AimDelegation.Use(token) : null;
        await Functions[call.Action].InvokeAsync(new AIFunctionArguments(Actions.Named(call).ToDictionary()));
    });
}

/// <summary>
/// The Agent Framework: a ChatClientAgent whose tools are the secured methods wrapped with WithAim(); a model stand-in asks
/// for the call, the agent's function-invoking client runs it, and the refusal the tool raised is the outcome.
/// </summary>
public sealed class AgentFrameworkPath : FrontDoorPath
{
    private static readonly AITool[] Tools = [.. Enum.GetValues<ActionKind>()
        .Select(k => (AITool)AIFunctionFactory.Create(Actions.Method(k), Actions.Instance, k.ToString()).WithAim())];

    public override string Name => "agent-framework";

    protected override async Task<Outcome> CallThroughAsync(Call call)
    {
        var model = new OneCallModel(call.Action.ToString(), Actions.Named(call).ToDictionary());
        var agent = new ChatClientAgent(model, instructions: "equivalence", name: "eq", tools: Tools);
        using (Context!.Token is { } token ? AimDelegation.Use(token) : null)
        {
            await agent.RunAsync("call " + call.Action);
        }

        return Refusals.Of(model.Result?.Exception ?? (model.Result is null ? new InvalidOperationException("the tool was never called") : null));
    }

    /// <summary>Asks for one tool call, then keeps the result it is shown.</summary>
    private sealed class OneCallModel(string tool, Dictionary<string, object?> arguments) : IChatClient
    {
        public Microsoft.Extensions.AI.FunctionResultContent? Result { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Result = messages.SelectMany(m => m.Contents).OfType<Microsoft.Extensions.AI.FunctionResultContent>().LastOrDefault();
            return Task.FromResult(Result is null
                ? new ChatResponse(new ChatMessage(ChatRole.Assistant, [new Microsoft.Extensions.AI.FunctionCallContent("c1", tool, arguments)]))
                : new ChatResponse(new ChatMessage(ChatRole.Assistant, "done")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// MCP over streamable HTTP: a real MCP server (ModelContextProtocol.AspNetCore) on 127.0.0.1 with the Aim tools/call
/// filter and WithAipTokens(), a real MCP client sending the case's token in X-AIP-Token.
/// </summary>
public sealed class McpHttpPath : FrontDoorPath, IAsyncDisposable
{
    private WebApplication? _server;
    private McpClient? _client;

    public override string Name => "mcp-http";

    public override async Task StartAsync(CaseContext context)
    {
        await base.StartAsync(context);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddMcpServer().WithHttpTransport().WithTools<SecuredActions>().WithAim(o =>
        {
            o.RequireToken = false;
            o.Runtime = Runtime;
        });
        _server = builder.Build();
        _server.MapMcp("/mcp").WithAipTokens();
        await _server.StartAsync();
        var options = new HttpClientTransportOptions { Endpoint = new Uri(_server.Urls.First() + "/mcp"), TransportMode = HttpTransportMode.StreamableHttp };
        var http = new HttpClient();
        if (context.Token is { } token)
        {
            http.DefaultRequestHeaders.Add("X-AIP-Token", token);
        }

        _client = await McpClient.CreateAsync(new HttpClientTransport(options, http, ownsHttpClient: true));
    }

    protected override async Task<Outcome> CallThroughAsync(Call call)
    {
        var arguments = Actions.Named(call).ToDictionary(a => a.Key, a => a.Value);
        var tool = ((ModelContextProtocol.Server.McpServerToolAttribute)Actions.Method(call.Action).GetCustomAttributes(typeof(ModelContextProtocol.Server.McpServerToolAttribute), false)[0]).Name!;
        var result = await _client!.CallToolAsync(tool, arguments);
        return result.IsError == true ? new Outcome(false, McpCallRefusal.ReadCode(result)) : Outcome.Allow;
    }

    public new async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
        }

        await base.DisposeAsync();
    }
}
