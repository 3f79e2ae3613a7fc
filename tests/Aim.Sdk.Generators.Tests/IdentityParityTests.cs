using System.Reflection;
using Microsoft.CodeAnalysis;

namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// The generator (Roslyn symbols) and <see cref="ActionResolver"/> (reflection) must agree, method by method, on the
/// catalog identity and on which member declares a method's action; otherwise a front door that resolves a MethodInfo
/// would refuse or mislabel what the interceptors guard. Compared entry by entry over real compiled code.
/// </summary>
public sealed class IdentityParityTests
{
    private const string Source = """
        using System.Collections.Generic;
        using System.Threading.Tasks;
        using Aim;

        namespace Parity;

        public interface IStore
        {
            [SecureAction("db:read")]
            string Load(string key);

            [SecureAction("db:write")]
            void Save(string key, ref int version, out bool created, in decimal? price, params string[] tags);
        }

        public interface IRepository<T>
        {
            [SecureAction("db:read")]
            T Find(T key, List<T>? hints);

            [SecureAction("db:read")]
            U Map<U>(T key, U fallback);
        }

        public interface IPurge
        {
            [SecureAction("db:delete")]
            void Purge(int[,] grid);
        }

        public interface IReadA { [SecureAction("db:read")] int Count(); }
        public interface IReadB { [SecureAction("db:read")] int Count(); }

        public class Store : IStore, IPurge
        {
            public virtual string Load(string key) => key;
            public void Save(string key, ref int version, out bool created, in decimal? price, params string[] tags) { created = true; }
            void IPurge.Purge(int[,] grid) { }
            public string Unsecured(string key) => key;
        }

        public sealed class CachedStore : Store
        {
            public override string Load(string key) => "c" + key;
        }

        public sealed class Repository<T> : IRepository<T>
        {
            public T Find(T key, List<T>? hints) => key;
            public U Map<U>(T key, U fallback) => fallback;
        }

        public sealed class IntRepository : IRepository<int>
        {
            public int Find(int key, List<int>? hints) => key;
            public U Map<U>(int key, U fallback) => fallback;
        }

        public struct ValueStore : IStore
        {
            public string Load(string key) => key;
            public void Save(string key, ref int version, out bool created, in decimal? price, params string[] tags) { created = false; }
        }

        public sealed class Both : IReadA, IReadB
        {
            public int Count() => 2;
        }

        public abstract class Job
        {
            [SecureAction("job:run")]
            public abstract Task RunAsync(Dictionary<string, int?> options);
        }

        public class Nightly : Job
        {
            [SecureAction("job:run")]
            public override Task RunAsync(Dictionary<string, int?> options) => Task.CompletedTask;
        }

        public sealed class Weekly : Nightly
        {
            public override Task RunAsync(Dictionary<string, int?> options) => Task.CompletedTask;
        }

        public class Outer<T>
        {
            public class Inner
            {
                [SecureAction("db:read")]
                public T Get(Outer<T>.Inner self, T value) => value;
            }
        }
        """;

    public static TheoryData<string, string> Methods => new()
    {
        { "Parity.IStore", "Load" },
        { "Parity.IStore", "Save" },
        { "Parity.IRepository`1", "Find" },
        { "Parity.IRepository`1", "Map" },
        { "Parity.IPurge", "Purge" },
        { "Parity.Store", "Load" },
        { "Parity.Store", "Save" },
        { "Parity.Store", "Parity.IPurge.Purge" },
        { "Parity.Store", "Unsecured" },
        { "Parity.CachedStore", "Load" },
        { "Parity.Repository`1", "Find" },
        { "Parity.Repository`1", "Map" },
        { "Parity.IntRepository", "Find" },
        { "Parity.IntRepository", "Map" },
        { "Parity.ValueStore", "Load" },
        { "Parity.ValueStore", "Save" },
        { "Parity.Both", "Count" },
        { "Parity.Job", "RunAsync" },
        { "Parity.Nightly", "RunAsync" },
        { "Parity.Weekly", "RunAsync" },
        { "Parity.Outer`1+Inner", "Get" },
    };

    private static readonly Lazy<(Compilation Compilation, LoadedAssembly Loaded)> Built = new(() =>
        (Harness.Compile(Source, "ParityIdentities"), Harness.BuildAndLoad(Source, "ParityIdentities")));

    private static (IMethodSymbol Symbol, MethodInfo Method) Find(string type, string name)
    {
        var (compilation, loaded) = Built.Value;
        IMethodSymbol symbol = compilation.GetTypeByMetadataName(type)!.GetMembers(name).OfType<IMethodSymbol>().Single();
        MethodInfo method = loaded.Assembly.GetType(type, throwOnError: true)!
            .GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            .Single(m => m.Name == name);
        return (symbol, method);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Generator_identity_matches_the_resolvers_identity(string type, string name)
    {
        var (symbol, method) = Find(type, name);

        Assert.Equal(SecureActionSymbols.Identity(symbol), ActionResolver.IdentityOf(method));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Generator_and_resolver_pick_the_same_declaring_member(string type, string name)
    {
        var (symbol, method) = Find(type, name);

        AttributeData? attribute = SecureActionSymbols.FindAttribute(symbol, out IMethodSymbol declaring);
        ActionResolution resolution = ActionResolver.Resolve(method);

        if (attribute is null)
        {
            Assert.Equal(ActionResolutionKind.NotSecured, resolution.Kind);
            return;
        }

        Assert.Equal(ActionResolutionKind.Found, resolution.Kind);
        Assert.Equal(SecureActionSymbols.Identity(declaring), resolution.Action!.Method);
    }

    [Theory]
    [InlineData("Parity.CachedStore", "Load", "Parity.IStore.Load(string)")]
    [InlineData("Parity.IntRepository", "Find", "Parity.IRepository<T>.Find(T, System.Collections.Generic.List<T>)")]
    [InlineData("Parity.Store", "Parity.IPurge.Purge", "Parity.IPurge.Purge(int[,])")]
    [InlineData("Parity.Both", "Count", "Parity.IReadA.Count()")]
    [InlineData("Parity.Weekly", "RunAsync", "Parity.Job.RunAsync(System.Collections.Generic.Dictionary<string, int?>)")]
    [InlineData("Parity.Nightly", "RunAsync", "Parity.Job.RunAsync(System.Collections.Generic.Dictionary<string, int?>)")]
    public void An_implementation_resolves_to_the_member_that_declares_its_action(string type, string name, string declaringIdentity)
    {
        var (symbol, method) = Find(type, name);

        SecureActionSymbols.FindAttribute(symbol, out IMethodSymbol declaring);

        Assert.Equal(declaringIdentity, SecureActionSymbols.Identity(declaring));
        Assert.Equal(declaringIdentity, ActionResolver.Resolve(method).Action?.Method);
    }
}
