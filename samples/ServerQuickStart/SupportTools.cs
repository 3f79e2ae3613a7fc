using Aim;

namespace ServerQuickStart;

public sealed record User(string Id, string Email);

public sealed record Refund(string OrderId, decimal Amount, string Status);

/// <summary>The agent's tools: the same code as with the embedded engine; the Aim server decides.</summary>
public sealed class SupportTools
{
    [SecureAction("db:read", Resource = "users_table", Description = "Read customer records")]
    public IReadOnlyList<User> GetUsers() => [new User("u-1", "ada@example.com"), new User("u-2", "grace@example.com")];

    [SecureAction("user:delete", Resource = "users_table", JitAccess = true, Description = "Delete a customer account")]
    public void DeleteUser(string userId) => Console.WriteLine($"  !! body ran: deleted {userId}");

    [SecureAction("payment:refund", JitAccess = true, JitTimeoutSeconds = 300, Description = "Refund an order to the customer's card")]
    public async Task<Refund> RefundAsync(string orderId, decimal amount)
    {
        await Task.Yield();
        return new Refund(orderId, amount, "refunded");
    }
}
