using Aim;

namespace Shapes;

public class Service
{
}

public static class ServiceExtensions
{
    [SecureAction("db:read")]
    public static int Twice(this Service service, int x) => 2 * x;
}

public static class Calls
{
    // Reduced (s.Twice) and static (ServiceExtensions.Twice) forms.
    public static int Run(Service s) => s.Twice(4) + ServiceExtensions.Twice(s, 5);
}
