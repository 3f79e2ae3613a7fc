using System.ComponentModel;
using Aim;

namespace AgentFramework;

/// <summary>The agent's tools. Each secured one counts its runs, so the sample can show that a denied call never ran.</summary>
public sealed class SupportTools
{
    public int BodiesRun { get; private set; }

    [Description("Looks up a customer's open tickets.")]
    [SecureAction("db:read", Resource = "tickets")]
    public string LookupTickets(string customer)
    {
        BodiesRun++;
        return $"{customer}: 2 open tickets";
    }

    [Description("Closes all of a customer's tickets.")]
    [SecureAction("ticket:close")]
    public string CloseTickets(string customer)
    {
        BodiesRun++;
        return $"{customer}: tickets closed";
    }
}
