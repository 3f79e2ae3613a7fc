using Aim;
using Aim.Crypto;
using Aim.Mcp;
using Aim.Mcp.AspNetCore;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Runtime;
using Aim.Tokens.Verification;
using McpToolServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

// Four roles in one program:
//   McpToolServer serve                 a protected MCP server over stdio (the Aim tools/call filter in front of OrderTools)
//   McpToolServer serve-http [--urls u]  the same tools over streamable HTTP, the AIP token in X-AIP-Token / Authorization: AIP
//   McpToolServer                       a client that starts the stdio server and calls it with and without a valid AIP token
//   McpToolServer http                  the same calls over HTTP, against the HTTP server started in this process
if (args is ["serve", ..])
{
    await ServeAsync();
    return 0;
}

if (args is ["serve-http", ..])
{
    await using var server = BuildHttpServer(args[1..], Roots());
    await server.RunAsync();
    return 0;
}

return args is ["http", ..] ? await RunHttpClientAsync() : await RunClientAsync();

static string[] Roots() =>
    (Environment.GetEnvironmentVariable("AIM_MCP_TRUSTED_ROOTS") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

static WebApplication BuildHttpServer(string[] args, string[] roots)
{
    var builder = WebApplication.CreateSlimBuilder(args);
    if (builder.Configuration["urls"] is null)
    {
        builder.WebHost.UseUrls("http://127.0.0.1:0");
    }

    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    var verifier = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(roots) });
    builder.Services.AddAim(o =>
    {
        o.AgentName = "mcp-tool-server-http";
        o.Grant("db:read@orders", "email:send");
        o.ChainCheck = new AipChainCheck(verifier, requireHolderIsAgent: false);
    });
    builder.Services.AddMcpServer()
        .WithHttpTransport()
        .WithTools<OrderTools>()
        .WithAim(o => o.RequireToken = true);
    var app = builder.Build();
    app.MapMcp("/mcp").WithAipTokens();   // the header token reaches the tools/call filter; step 4 verifies it
    return app;
}

static async Task<int> RunHttpClientAsync()
{
    using var issuer = Ed25519KeyPair.Generate();
    using var caller = Ed25519KeyPair.Generate();
    string issuerId = AipIdentifier.ForKey(issuer.PublicKey);
    var now = DateTimeOffset.UtcNow;
    string token = CompactToken.Create(issuer, new AipTokenClaims(
        issuerId, AipIdentifier.ForKey(caller.PublicKey), ["db:read"], BudgetUsd: null, MaxDepth: 0, now, now.AddMinutes(10)));

    await using var server = BuildHttpServer([], [issuerId]);
    await server.StartAsync();
    var endpoint = new Uri(server.Urls.First() + "/mcp");
    Console.WriteLine($"mcp-tool-server-http: {endpoint} as {server.Services.GetRequiredService<AimRuntime>().Agent.AipId}");

    async Task<ModelContextProtocol.Protocol.CallToolResult> CallAsync(string tool, Dictionary<string, object?> arguments, string? aipToken)
    {
        var options = new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp };
        if (aipToken is not null)
        {
            options.AdditionalHeaders = new Dictionary<string, string> { ["X-AIP-Token"] = aipToken };
        }

        await using var client = await McpClient.CreateAsync(new HttpClientTransport(options));
        return await client.CallToolAsync(tool, arguments);
    }

    var args = new Dictionary<string, object?> { ["orderId"] = "A-1001" };
    Report("HTTP lookup_order with a valid token", await CallAsync("lookup_order", args, token));
    Report("HTTP lookup_order without a token", await CallAsync("lookup_order", args, null));
    Report("HTTP send_email outside the token's scope", await CallAsync("send_email", new() { ["to"] = "a@example.com", ["body"] = "hi" }, token));
    await server.StopAsync();
    return 0;
}

static async Task ServeAsync()
{
    // Trusted token issuers: aip:key ids, comma separated (an orchestrator, a user's wallet, ...).
    var roots = (Environment.GetEnvironmentVariable("AIM_MCP_TRUSTED_ROOTS") ?? string.Empty)
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var verifier = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(roots) });

    var builder = Host.CreateApplicationBuilder();
    // stdout is the MCP channel: every log line goes to stderr.
    builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    builder.Services.AddAim(o =>
    {
        o.AgentName = "mcp-tool-server";
        o.Grant("db:read@orders", "email:send");
        o.ChainCheck = new AipChainCheck(verifier, requireHolderIsAgent: false);   // step 4 checks the caller's token too
    });
    builder.Services.AddMcpServer()
        .WithStdioServerTransport()
        .WithTools<OrderTools>()
        .WithAim(o => o.RequireToken = true);
    using var host = builder.Build();
    Console.Error.WriteLine($"mcp-tool-server: AIP identity {host.Services.GetRequiredService<AimRuntime>().Agent.AipId}");
    await host.RunAsync();
}

static async Task<int> RunClientAsync()
{
    using var issuer = Ed25519KeyPair.Generate();
    using var caller = Ed25519KeyPair.Generate();
    string issuerId = AipIdentifier.ForKey(issuer.PublicKey);
    var now = DateTimeOffset.UtcNow;
    string token = CompactToken.Create(issuer, new AipTokenClaims(
        issuerId, AipIdentifier.ForKey(caller.PublicKey), ["db:read"], BudgetUsd: null, MaxDepth: 0, now, now.AddMinutes(10)));

    var transport = new StdioClientTransport(new StdioClientTransportOptions
    {
        Name = "mcp-tool-server",
        Command = "dotnet",
        Arguments = [typeof(OrderTools).Assembly.Location, "serve"],
        EnvironmentVariables = new Dictionary<string, string?> { ["AIM_MCP_TRUSTED_ROOTS"] = issuerId },
    });
    // The initialize handshake (2025-11-25): the newer discovery probe can time out while the child process starts.
    await using var client = await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = "2025-11-25" });
    foreach (var tool in await client.ListToolsAsync())
    {
        Console.WriteLine($"tool: {tool.Name}");
    }

    var args = new Dictionary<string, object?> { ["orderId"] = "A-1001" };
    Report("lookup_order with a valid token", await client.CallToolWithAipTokenAsync("lookup_order", args, token));
    Report("lookup_order without a token", await client.CallToolAsync("lookup_order", args));
    Report("send_email outside the token's scope", await client.CallToolWithAipTokenAsync("send_email", new Dictionary<string, object?> { ["to"] = "a@example.com", ["body"] = "hi" }, token));
    return 0;
}

static void Report(string what, ModelContextProtocol.Protocol.CallToolResult result) =>
    Console.WriteLine(McpCallRefusal.ReadCode(result) is { } code
        ? $"{what}: refused ({code})"
        : $"{what}: {string.Join(" ", result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(t => t.Text))}");
