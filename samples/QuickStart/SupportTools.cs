using Aim;

namespace QuickStart;

public sealed record User(string Id, string Email);

public sealed record Refund(string OrderId, decimal Amount, string Status);

/// <summary>The agent's tools. Each call of a [SecureAction] method is authorized, signed and audited.</summary>
public sealed class SupportTools
{
    public int BodiesRun { get; private set; }

    [SecureAction("db:read", Resource = "users_table", Description = "Read customer records")]
    public IReadOnlyList<User> GetUsers()
    {
        BodiesRun++;
        return [new User("u-1", "ada@example.com"), new User("u-2", "grace@example.com")];
    }

    [SecureAction("email:send", Description = "Send a notification e-mail to a customer")]
    public string SendEmail(string to, string subject)
    {
        BodiesRun++;
        return $"queued '{subject}' to {to}";
    }

    [SecureAction("user:delete", Resource = "users_table", JitAccess = true, Description = "Delete a customer account")]
    public void DeleteUser(string userId)
    {
        BodiesRun++;
        Console.WriteLine($"  !! body ran: deleted {userId}");
    }

    [SecureAction("payment:refund", JitAccess = true, JitTimeoutSeconds = 60, Description = "Refund an order to the customer's card")]
    public async Task<Refund> RefundAsync(string orderId, decimal amount)
    {
        await Task.Yield();
        BodiesRun++;
        return new Refund(orderId, amount, "refunded");
    }
}
