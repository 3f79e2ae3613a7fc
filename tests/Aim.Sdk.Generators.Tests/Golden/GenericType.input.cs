using System;
using Aim;

namespace Shapes;

public class Box<T>
{
    [SecureAction("db:read")]
    public T Get(T value) => value;

    [SecureAction("db:read")]
    public U Map<U>(T value, Func<T, U> map) where U : class => map(value);
}

public static class Calls
{
    public static string Run() => new Box<int>().Get(9) + new Box<int>().Map(9, v => "m" + v) + InGeneric(new Box<string>(), "t");

    // A call inside a generic method, through the type parameter.
    public static T InGeneric<T>(Box<T> box, T value) => box.Get(value);
}
