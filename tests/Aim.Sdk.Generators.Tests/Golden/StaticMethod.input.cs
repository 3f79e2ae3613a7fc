using Aim;

namespace Shapes;

public static class Reports
{
    [SecureAction("db:read")]
    public static int Count(int x) => x + 1;
}

public static class Calls
{
    public static int Run() => Reports.Count(1);
}
