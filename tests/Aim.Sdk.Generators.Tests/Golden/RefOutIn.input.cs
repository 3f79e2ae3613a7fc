using Aim;

namespace Shapes;

public class Ledger
{
    [SecureAction("db:write")]
    public void Move(ref int a, out int b, in int c) { a += 1; b = a + c; }
}

public static class Calls
{
    public static int Run(Ledger l)
    {
        int a = 1;
        int c = 10;
        l.Move(ref a, out int b, in c);
        return a + b;
    }
}
