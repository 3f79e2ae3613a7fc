using System.ComponentModel;
using ModelContextProtocol.Server;

namespace Aim.Equivalence.Tests;

/// <summary>How many times each secured body ran (a denied call must never add one).</summary>
public static class Bodies
{
    private static int _runs;

    public static int Runs => Volatile.Read(ref _runs);

    public static string Ran(string what)
    {
        Interlocked.Increment(ref _runs);
        return what;
    }
}

/// <summary>
/// The secured actions every path calls: one per kind the cases need (plain, resource-bound, costed, JIT critical, high-risk
/// with intent text). They are compiled with the generator, so direct calls are intercepted, and exposed to the other front
/// doors (AI functions, ASP.NET Core endpoints, MCP tools) from the same methods.
/// </summary>
[McpServerToolType]
public sealed class SecuredActions
{
    [SecureAction("db:read")]
    [McpServerTool(Name = "read_table"), Description("Reads a table.")]
    public string ReadTable(string table) => Bodies.Ran("read " + table);

    [SecureAction("db:read", Resource = "users_table")]
    [McpServerTool(Name = "read_users"), Description("Reads the users table.")]
    public string ReadUsers() => Bodies.Ran("users");

    [SecureAction("email:send")]
    [McpServerTool(Name = "send_email"), Description("Sends an e-mail.")]
    public string SendEmail(string to, string body) => Bodies.Ran("sent to " + to);

    [SecureAction("web:search", CostUsd = 0.25)]
    [McpServerTool(Name = "search"), Description("Searches the web.")]
    public string Search(string query) => Bodies.Ran("results for " + query);

    [SecureAction("payment:refund", JitAccess = true)]
    [McpServerTool(Name = "refund"), Description("Refunds an order.")]
    public string Refund(string orderId, decimal amount) => Bodies.Ran("refunded " + orderId);

    [SecureAction("shell:exec", RiskLevel = RiskLevel.High)]
    [McpServerTool(Name = "run_command"), Description("Runs a command.")]
    public string RunCommand(string command) => Bodies.Ran("ran " + command);
}
