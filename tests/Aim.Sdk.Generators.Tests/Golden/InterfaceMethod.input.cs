using Aim;

namespace Shapes;

public interface IStore
{
    [SecureAction("db:read")]
    string Load(string key);
}

public sealed class Store : IStore
{
    public string Load(string key) => "v:" + key;
}

public static class Calls
{
    public static string Run(IStore store) => store.Load("k");
}
