using Aim;
using QuickStart;

// An agent on the embedded engine: its key lives in AIM_HOME (default ~/.aim), its audit log beside it.
await using var agent = AimAgent.Secure("quickstart-agent", o =>
{
    o.Grant("db:read@users_*", "email:send", "payment:refund");   // user:delete is NOT granted
    o.ApprovalHandler = new SampleApprovalHandler();
});

Console.WriteLine($"Agent {agent.Name}");
Console.WriteLine($"  identity {agent.AipId}");
Console.WriteLine();

var tools = new SupportTools();

await Step("db:read on users_table (low risk, granted)", () =>
{
    var users = tools.GetUsers();
    return Task.FromResult($"{users.Count} users");
});

await Step("email:send (high risk, granted)", () => Task.FromResult(tools.SendEmail("ada@example.com", "Your ticket is resolved")));

await Step("user:delete (critical, NOT granted)", () =>
{
    tools.DeleteUser("u-2");
    return Task.FromResult("deleted");
});

await Step("payment:refund (critical, JIT approval)", async () =>
{
    var refund = await tools.RefundAsync("order-1001", 25.00m);
    return $"{refund.Status} {refund.Amount:0.00} on {refund.OrderId}";
});

Console.WriteLine();
Console.WriteLine($"Bodies that ran: {tools.BodiesRun} of 4 calls (the denied one never ran).");

var verification = agent.VerifyAuditLog();
Console.WriteLine(verification.IsValid
    ? $"Audit log: {verification.EntriesChecked} signed entries verified (Merkle tree and tree heads intact)."
    : $"Audit log: TAMPERED at entry {verification.FirstBadIndex}: {verification.ReasonCode}");

var trust = agent.GetTrustScore();
Console.WriteLine($"Trust score: {trust.Score * 100:0}/100");
foreach (var factor in trust.Factors)
{
    Console.WriteLine($"  {factor.Name,-20} {factor.Value * 100,5:0}% x {factor.Weight:0.00}  {factor.Explanation}");
}

return verification.IsValid ? 0 : 1;

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
