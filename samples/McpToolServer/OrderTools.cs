using System.ComponentModel;
using Aim;
using ModelContextProtocol.Server;

namespace McpToolServer;

/// <summary>The protected tools. Each body appends to calls.log so a test can prove a refused call never ran.</summary>
[McpServerToolType]
public sealed class OrderTools
{
    [McpServerTool(Name = "lookup_order"), Description("Looks up an order by id.")]
    [SecureAction("db:read", Resource = "orders")]
    public static string LookupOrder(string orderId)
    {
        Ran("lookup_order");
        return $"order {orderId}: 2 items, shipped";
    }

    [McpServerTool(Name = "send_email"), Description("Sends an email to a customer.")]
    [SecureAction("email:send")]
    public static string SendEmail(string to, string body)
    {
        Ran("send_email");
        return "sent to " + to;
    }

    [McpServerTool(Name = "update_order"), Description("Changes an order (this server is not granted db:write).")]
    [SecureAction("db:write", Resource = "orders")]
    public static string UpdateOrder(string orderId, string status)
    {
        Ran("update_order");
        return $"order {orderId} is now {status}";
    }

    private static void Ran(string tool)
    {
        if (Environment.GetEnvironmentVariable("AIM_HOME") is { Length: > 0 } home)
        {
            File.AppendAllText(Path.Combine(home, "calls.log"), tool + Environment.NewLine);
        }
    }
}
