using Aim;

namespace Shapes;

public class Pager
{
    [SecureAction("db:read")]
    public int Page(int a, int b = 5) => a + b;
}

public static class Calls
{
    // Two call sites of one method share one interceptor.
    public static int Run(Pager p) => p.Page(1) + p.Page(1, 2);
}
