using Aim;

namespace Shapes;

public class Service
{
    [SecureAction("db:read")]
    public virtual int Version() => 1;
}

public class Derived : Service
{
    public override int Version() => 2;
}

public static class Calls
{
    public static int Run()
    {
        Service asBase = new Derived();
        return new Derived().Version() + asBase.Version();
    }
}
