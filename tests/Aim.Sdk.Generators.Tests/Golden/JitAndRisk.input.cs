using Aim;

namespace Shapes;

public class Payments
{
    [SecureAction("payment:refund", JitAccess = true, JitTimeoutSeconds = 60)]
    public decimal Refund(string orderId, decimal amount) => amount;

    [SecureAction("db:read", Resource = "users_table", RiskLevel = RiskLevel.High, LogArguments = true)]
    public int Users() => 1;
}

public static class Calls
{
    public static decimal Run(Payments p) => p.Refund("o-1", 12.5m) + p.Users();
}
