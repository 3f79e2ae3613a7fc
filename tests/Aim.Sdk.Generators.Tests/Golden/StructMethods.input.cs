using Aim;

namespace Shapes;

public struct Counter
{
    public int Count;

    [SecureAction("db:write")]
    public void Increment() => Count++;

    [SecureAction("db:read")]
    public readonly int Peek() => Count;
}

public static class Calls
{
    public static int Run()
    {
        var counter = new Counter();
        counter.Increment();
        return counter.Peek();
    }
}
