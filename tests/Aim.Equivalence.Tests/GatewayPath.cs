using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;

namespace Aim.Equivalence.Tests;

/// <summary>
/// The AIP gateway: a real gateway on 127.0.0.1 (GatewayHost, YARP) deciding with the case's embedded runtime, each secured
/// method mapped to its catalog action by MCP tool name, in front of a small upstream that runs the secured body (by
/// reflection, so it is not decided a second time). A real HTTP client posts each call as an MCP tools/call with the
/// case's token in X-AIP-Token; the gateway's refusal code is the outcome.
/// </summary>
public sealed class GatewayPath : FrontDoorPath, IAsyncDisposable
{
    private static readonly HttpClient Http = new();
    private static readonly SemaphoreSlim UpstreamGate = new(1, 1);
    private static string? upstreamUrl;
    private WebApplication? _gateway;

    public override string Name => "aip-gateway";

    private static string ToolName(ActionKind kind) =>
        ((McpServerToolAttribute)Actions.Method(kind).GetCustomAttributes(typeof(McpServerToolAttribute), false)[0]).Name!;

    public override async Task StartAsync(CaseContext context)
    {
        await base.StartAsync(context);
        string upstream = await UpstreamAsync();
        var config = GatewayConfig.Parse($$"""
            {"listen":"http://127.0.0.1:0","upstream":"{{upstream}}","trustedKeys":["{{context.AipId}}"],"requireToken":false,"agentName":"{{context.AgentName}}"}
            """);
        _gateway = GatewayHost.Build(config, l => l.ClearProviders(), o =>
        {
            o.Runtime = Runtime;
            o.Verifier = context.Verifier;
            foreach (var kind in Enum.GetValues<ActionKind>())
            {
                o.Tools[ToolName(kind)] = Actions.Descriptor(kind);
            }
        });
        await _gateway.StartAsync();
    }

    protected override async Task<Outcome> CallThroughAsync(Call call)
    {
        var arguments = new JsonObject();
        foreach (var (name, value) in Actions.Named(call))
        {
            arguments[name] = value is decimal amount ? JsonValue.Create(amount) : JsonValue.Create((string?)value);
        }

        var body = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = 1,
            ["method"] = "tools/call",
            ["params"] = new JsonObject { ["name"] = ToolName(call.Action), ["arguments"] = arguments },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway!.Urls.First() + "/mcp")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (Context!.Token is { } token)
        {
            request.Headers.Add("X-AIP-Token", token);
        }

        using var response = await Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode
            ? Outcome.Allow
            : new Outcome(false, JsonNode.Parse(text)?["error"]?["code"]?.GetValue<string>());
    }

    public new async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.StopAsync();
            await _gateway.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    /// <summary>The upstream, started once for the suite: runs the called method's body and answers a JSON-RPC result.</summary>
    private static async Task<string> UpstreamAsync()
    {
        await UpstreamGate.WaitAsync();
        try
        {
            if (upstreamUrl is null)
            {
                var builder = WebApplication.CreateSlimBuilder();
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.Logging.ClearProviders();
                var app = builder.Build();
                var byTool = Enum.GetValues<ActionKind>().ToDictionary(ToolName);
                app.Run(async context =>
                {
                    using var document = await JsonDocument.ParseAsync(context.Request.Body);
                    var parameters = document.RootElement.GetProperty("params");
                    var method = Actions.Method(byTool[parameters.GetProperty("name").GetString()!]);
                    var given = parameters.GetProperty("arguments");
                    var values = method.GetParameters()
                        .Select(p => p.ParameterType == typeof(decimal) ? (object)given.GetProperty(p.Name!).GetDecimal() : given.GetProperty(p.Name!).GetString())
                        .ToArray();
                    // Reflection: the body itself, not an intercepted call site (the gateway already decided).
                    var result = method.Invoke(Actions.Instance, values);
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync(new JsonObject
                    {
                        ["jsonrpc"] = "2.0",
                        ["id"] = 1,
                        ["result"] = new JsonObject { ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = Convert.ToString(result, CultureInfo.InvariantCulture) }) },
                    }.ToJsonString());
                });
                await app.StartAsync();
                upstreamUrl = app.Urls.First();
            }

            return upstreamUrl;
        }
        finally
        {
            UpstreamGate.Release();
        }
    }
}
