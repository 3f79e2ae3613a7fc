using Aim;

namespace Shapes;

public class Users
{
    [SecureAction("db:read", Resource = "users_table", Description = "Reads \"users\"")]
    public string Find(string name) => name + "!";
}

public static class Calls
{
    public static string Run() => new Users().Find("a");
}
