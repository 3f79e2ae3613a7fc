using Aim;

namespace Shapes;

public class Query
{
    [SecureAction("db:read")]
    public int Run(int x) => x;

    [SecureAction("db:query")]
    public int Run(string s) => s.Length;
}

public static class Calls
{
    public static int Run(Query q) => q.Run(3) + q.Run("abcd");
}
