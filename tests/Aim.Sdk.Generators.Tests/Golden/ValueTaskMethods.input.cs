using System.Threading.Tasks;
using Aim;

namespace Shapes;

public class Probes
{
    [SecureAction("db:read")]
    public ValueTask PingAsync() => default;

    [SecureAction("db:read")]
    public ValueTask<int> ReadAsync() => new(7);
}

public static class Calls
{
    public static async ValueTask<int> Run(Probes p)
    {
        await p.PingAsync();
        return await p.ReadAsync();
    }
}
