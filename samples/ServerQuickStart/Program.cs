using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aim;
using ServerQuickStart;

// The QuickStart agent against a running Aim server:
//   dotnet run --project src/Aim.Server -- --urls http://127.0.0.1:8080 --data ./aim-data
//   dotnet run --project samples/ServerQuickStart -- http://127.0.0.1:8080 ./aim-data/admin.key
// The refund waits for a human: approve it with
//   aim approvals approve <id> --server http://127.0.0.1:8080 --api-key-file ./aim-data/admin.key
var server = new Uri(args.Length > 0 ? args[0] : Environment.GetEnvironmentVariable("AIM_SERVER") ?? "http://127.0.0.1:8080");
string keyFile = args.Length > 1 ? args[1] : "aim-data/admin.key";
string apiKey = Environment.GetEnvironmentVariable("AIM_API_KEY") ?? File.ReadAllText(keyFile).Trim();

// Same user code as the embedded QuickStart; only ServerUrl and ApiKey differ. The agent's key stays in AIM_HOME.
await using var agent = AimAgent.Secure("server-quickstart", o =>
{
    o.ServerUrl = server;
    o.ApiKey = apiKey;
});
Console.WriteLine($"Agent {agent.Name} ({agent.AipId}) on {server}");
var tools = new SupportTools();

await Step("db:read before any grant (registers the agent on first use)", () => Task.FromResult($"{tools.GetUsers().Count} users"));

// What an admin does once: `aim agents grant server-quickstart db:read@users_* payment:refund --server ... --api-key-file ...`
using var admin = new HttpClient { BaseAddress = server };
admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
(await admin.PostAsJsonAsync("api/v1/agents/server-quickstart/grants", new { capabilities = new[] { "db:read@users_*", "payment:refund" } })).EnsureSuccessStatusCode();
Console.WriteLine("   (admin granted db:read@users_* and payment:refund)");

await Step("db:read on users_table (granted)", () => Task.FromResult($"{tools.GetUsers().Count} users"));
await Step("user:delete (critical, NOT granted)", () =>
{
    tools.DeleteUser("u-2");
    return Task.FromResult("deleted");
});

// Show the approver what to run while the call waits.
using var stopHint = new CancellationTokenSource();
var hint = Task.Run(async () =>
{
    while (!stopHint.IsCancellationRequested)
    {
        var pending = await admin.GetFromJsonAsync<JsonObject>("api/v1/approvals", stopHint.Token);
        if (pending?["items"] is JsonArray { Count: > 0 } items)
        {
            string id = items[0]!["id"]!.GetValue<string>();
            Console.WriteLine($"   waiting for approval {id}: aim approvals approve {id} --server {server} --api-key-file {keyFile}");
            return;
        }

        await Task.Delay(500, stopHint.Token);
    }
}, stopHint.Token);

await Step("payment:refund (critical, waits for a human)", async () =>
{
    var refund = await tools.RefundAsync("order-1001", 25.00m);
    return $"{refund.Status} {refund.Amount:0.00} on {refund.OrderId}";
});
await stopHint.CancelAsync();

var head = await admin.GetStringAsync("api/v1/audit/tree-head");
Console.WriteLine($"Server audit log tree head: {head}");
return 0;

static async Task Step(string title, Func<Task<string>> action)
{
    Console.WriteLine($"-> {title}");
    try
    {
        Console.WriteLine($"   ALLOWED: {await action()}");
    }
    catch (ActionDeniedException ex)
    {
        Console.WriteLine($"   DENIED ({ex.ReasonCode}): {ex.Message}");
    }
    catch (ApprovalTimeoutException ex)
    {
        Console.WriteLine($"   TIMED OUT: {ex.Message}");
    }
}
