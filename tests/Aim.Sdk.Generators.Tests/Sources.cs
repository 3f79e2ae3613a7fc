namespace Aim.Sdk.Generators.Tests;

/// <summary>Test inputs: every call shape the generator must intercept.</summary>
internal static class Sources
{
    public const string Shapes = """
        using System;
        using System.Collections.Generic;
        using System.Threading.Tasks;
        using Aim;

        namespace Shapes;

        public static class Log
        {
            public static readonly List<string> Runs = new();
        }

        public class Service
        {
            [SecureAction("db:read")]
            public static int Static(int x) { Log.Runs.Add("Static"); return x + 1; }

            [SecureAction("db:read", Resource = "users_table", Description = "Reads \"users\"")]
            public string Instance(string s) { Log.Runs.Add("Instance"); return s + "!"; }

            [SecureAction("db:write")]
            public void VoidMethod() => Log.Runs.Add("VoidMethod");

            [SecureAction("db:read")]
            public int Overload(int x) { Log.Runs.Add("Overload(int)"); return x; }

            [SecureAction("db:query")]
            public int Overload(string s) { Log.Runs.Add("Overload(string)"); return s.Length; }

            [SecureAction("db:read")]
            public int Optional(int a, int b = 5) { Log.Runs.Add("Optional"); return a + b; }

            [SecureAction("db:read")]
            public int Params(params int[] xs) { Log.Runs.Add("Params"); return xs.Length; }

            [SecureAction("db:write")]
            public void Refs(ref int a, out int b, in int c) { Log.Runs.Add("Refs"); a += 1; b = a + c; }

            [SecureAction("db:read")]
            public async Task TaskAsync() { await Task.Yield(); Log.Runs.Add("TaskAsync"); }

            [SecureAction("db:read")]
            public async Task<int> TaskOfTAsync() { await Task.Yield(); Log.Runs.Add("TaskOfTAsync"); return 42; }

            [SecureAction("db:read")]
            public ValueTask ValueTaskAsync() { Log.Runs.Add("ValueTaskAsync"); return default; }

            [SecureAction("db:read")]
            public ValueTask<int> ValueTaskOfTAsync() { Log.Runs.Add("ValueTaskOfTAsync"); return new ValueTask<int>(7); }

            [SecureAction("db:read")]
            public T Generic<T>(T value) where T : notnull { Log.Runs.Add("Generic"); return value; }

            [SecureAction("db:read")]
            public string? Nullable(string? value) { Log.Runs.Add("Nullable"); return value; }

            [SecureAction("db:read")]
            public virtual int Virtual() { Log.Runs.Add("Virtual"); return 1; }
        }

        public class Derived : Service
        {
            public override int Virtual() { Log.Runs.Add("Derived.Virtual"); return 2; }
        }

        public class Box<T>
        {
            [SecureAction("db:read")]
            public T Get(T value) { Log.Runs.Add("Box.Get"); return value; }

            [SecureAction("db:read")]
            public U Map<U>(T value, Func<T, U> map) where U : class { Log.Runs.Add("Box.Map"); return map(value); }
        }

        public struct Counter
        {
            public int Count;

            [SecureAction("db:write")]
            public void Increment() { Log.Runs.Add("Counter.Increment"); Count++; }

            [SecureAction("db:read")]
            public readonly int Peek() { Log.Runs.Add("Counter.Peek"); return Count; }
        }

        public static class ServiceExtensions
        {
            [SecureAction("db:read")]
            public static int Twice(this Service service, int x) { Log.Runs.Add("Twice"); return 2 * x; }
        }

        public interface IStore
        {
            [SecureAction("db:read")]
            string Load(string key);
        }

        public sealed class Store : IStore
        {
            public string Load(string key) { Log.Runs.Add("Store.Load"); return "v:" + key; }
        }

        public static class Calls
        {
            public static async Task<List<string>> RunAll()
            {
                var results = new List<string>();
                var s = new Service();
                results.Add(Service.Static(1).ToString());
                results.Add(s.Instance("a"));
                s.VoidMethod();
                results.Add(s.Overload(3).ToString());
                results.Add(s.Overload("abcd").ToString());
                results.Add(s.Optional(1).ToString());
                results.Add(s.Optional(1, 2).ToString());
                results.Add(s.Params(1, 2, 3).ToString());
                results.Add(s.Params().ToString());
                int a = 1;
                int c = 10;
                s.Refs(ref a, out int b, in c);
                results.Add(a + "," + b);
                await s.TaskAsync();
                results.Add((await s.TaskOfTAsync()).ToString());
                await s.ValueTaskAsync();
                results.Add((await s.ValueTaskOfTAsync()).ToString());
                results.Add(s.Generic(5).ToString());
                results.Add(s.Generic("g"));
                results.Add(s.Nullable(null) ?? "null");
                Service? maybe = s;
                results.Add((maybe?.Instance("m") ?? "none"));
                maybe = null;
                results.Add((maybe?.Instance("m") ?? "none"));
                results.Add(new Derived().Virtual().ToString());
                Service asBase = new Derived();
                results.Add(asBase.Virtual().ToString());
                results.Add(new Box<int>().Get(9).ToString());
                results.Add(new Box<int>().Map(9, v => "m" + v));
                results.Add(InGeneric(new Box<string>(), "t"));
                var counter = new Counter();
                counter.Increment();
                counter.Increment();
                results.Add(counter.Peek().ToString());
                results.Add(s.Twice(4).ToString());
                results.Add(ServiceExtensions.Twice(s, 5).ToString());
                IStore store = new Store();
                results.Add(store.Load("k"));
                return results;
            }

            public static T InGeneric<T>(Box<T> box, T value) => box.Get(value);
        }
        """;

    public static readonly string[] ExpectedResults =
    [
        "2", "a!", "3", "4", "6", "3", "3", "0", "2,12", "42", "7", "5", "g", "null", "m!", "none", "2", "2", "9", "m9", "t", "2", "8", "10", "v:k",
    ];
}
