using AgentFramework;
using Aim;
using Aim.AI;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

// A Microsoft Agent Framework agent whose tools run Aim's call path: every tool call the agent makes is authorized,
// signed and audited; a denied call never reaches the tool's body and the agent is told it failed.
await using var aim = AimAgent.Secure("agent-framework-sample", o => o.Grant("db:read@tickets"));   // ticket:close is NOT granted
Console.WriteLine($"Agent identity {aim.AipId}");

var tools = new SupportTools();
var secured = new AITool[]
{
    AIFunctionFactory.Create(tools.LookupTickets),
    AIFunctionFactory.Create(tools.CloseTickets),
}.WithAim();   // each function's [SecureAction]; a function without one is refused here

// Any IChatClient works; the scripted one keeps the sample offline.
var agent = new ChatClientAgent(new ScriptedModel(), instructions: "You help support staff.", name: "support", tools: [.. secured]);

foreach (string ask in new[] { "lookup tickets for ada", "close tickets of ada" })
{
    var response = await agent.RunAsync(ask);
    Console.WriteLine($"> {ask}");
    Console.WriteLine($"  {response.Text}");
}

Console.WriteLine($"Tool bodies that ran: {tools.BodiesRun} of 2 calls (the denied one never ran).");
var verification = aim.VerifyAuditLog();
Console.WriteLine($"Audit log: {verification.EntriesChecked} entries, valid: {verification.IsValid}");
return tools.BodiesRun == 1 && verification.IsValid ? 0 : 1;
