using Aim;

namespace Shapes;

public class Cache
{
    [SecureAction("db:write")]
    public void Clear() { }
}

public static class Calls
{
    public static void Run() => new Cache().Clear();
}
