using Aim;

namespace Shapes;

public class Echo
{
    [SecureAction("db:read")]
    public T Back<T>(T value) where T : notnull => value;
}

public static class Calls
{
    public static string Run(Echo e) => e.Back(5) + e.Back("g");
}
