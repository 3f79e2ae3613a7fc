using Aim;

namespace Shapes;

public class Names
{
    [SecureAction("db:read")]
    public string? Normalize(string? value) => value;

    [SecureAction("db:read")]
    public string Greet(string name) => "hi " + name;
}

public static class Calls
{
    public static string Run(Names? maybe) => (maybe?.Greet("m") ?? "none") + (new Names().Normalize(null) ?? "null");
}
