using System.Threading.Tasks;
using Aim;

namespace Shapes;

public class Jobs
{
    [SecureAction("db:read")]
    public async Task WaitAsync() => await Task.Yield();

    [SecureAction("db:read")]
    public async Task<int> ReadAsync() { await Task.Yield(); return 42; }
}

public static class Calls
{
    public static async Task<int> Run(Jobs j)
    {
        await j.WaitAsync();
        return await j.ReadAsync();
    }
}
