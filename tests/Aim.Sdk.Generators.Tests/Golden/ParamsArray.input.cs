using Aim;

namespace Shapes;

public class Batch
{
    [SecureAction("db:read")]
    public int Count(params int[] xs) => xs.Length;
}

public static class Calls
{
    public static int Run(Batch b) => b.Count(1, 2, 3) + b.Count();
}
