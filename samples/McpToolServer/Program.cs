using Aim;
using Aim.Crypto;
using Aim.Mcp;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Runtime;
using Aim.Tokens.Verification;
using McpToolServer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

// Two roles in one program:
//   McpToolServer serve   a protected MCP server over stdio (the Aim tools/call filter in front of OrderTools)
//   McpToolServer         a client that starts the server and calls it with and without a valid AIP token
if (args is ["serve", ..])
{
    await ServeAsync();
    return 0;
}

return await RunClientAsync();

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
