namespace Aim.Sdk.Generators.Tests;

/// <summary>
/// Call shapes where the secured body is reached through an interface, a base member or a type parameter. Each entry
/// in <c>Dispatch.Calls</c> makes one call; <see cref="Shapes"/> says which action it must be guarded by.
/// </summary>
internal static class DispatchSources
{
    public const string Source = """
        using System.Collections.Generic;
        using System.Threading.Tasks;
        using Aim;

        namespace Dispatch;

        public static class Effects
        {
            public static readonly List<string> Runs = new();
        }

        // The ASP.NET Core shape: the action is declared on the interface the service is resolved as.
        public interface IRefundService
        {
            [SecureAction("payment:refund", JitAccess = true)]
            Task<string> RefundAsync(string orderId, decimal amount);
        }

        public sealed class RefundService : IRefundService
        {
            public Task<string> RefundAsync(string orderId, decimal amount)
            {
                Effects.Runs.Add("refund " + orderId);
                return Task.FromResult("refunded " + amount);
            }
        }

        public interface IStore
        {
            [SecureAction("db:read", Resource = "orders")]
            string Load(string key);
        }

        public sealed class Store : IStore
        {
            public string Load(string key) { Effects.Runs.Add("Store.Load " + key); return "v:" + key; }
        }

        // A struct implementation: through a type parameter it is boxed for the interceptor (documented in AIM005.md).
        public struct CountingStore : IStore
        {
            public int Loads;
            public string Load(string key) { Loads++; Effects.Runs.Add("CountingStore.Load " + key); return "c:" + key + ":" + Loads; }
        }

        public abstract class Reader
        {
            [SecureAction("db:read")]
            public abstract int Read(int id);
        }

        public sealed class SqlReader : Reader
        {
            public override int Read(int id) { Effects.Runs.Add("SqlReader.Read " + id); return id * 10; }
        }

        public class Cache
        {
            [SecureAction("db:query")]
            public virtual string Get(string key) { Effects.Runs.Add("Cache.Get " + key); return "slow:" + key; }
        }

        public class FastCache : Cache
        {
            public override string Get(string key) { Effects.Runs.Add("FastCache.Get " + key); return "fast:" + key; }
        }

        public interface IRepository<T>
        {
            [SecureAction("db:read", Resource = "rows")]
            T Find(T key);
        }

        public sealed class Repository<T> : IRepository<T>
        {
            public T Find(T key) { Effects.Runs.Add("Repository.Find " + key); return key; }
        }

        public sealed class IntRepository : IRepository<int>
        {
            public int Find(int key) { Effects.Runs.Add("IntRepository.Find " + key); return key + 1; }
        }

        public interface IEcho
        {
            [SecureAction("db:read")]
            T Echo<T>(T value) where T : notnull;
        }

        public sealed class Echoer : IEcho
        {
            public T Echo<T>(T value) where T : notnull { Effects.Runs.Add("Echoer.Echo " + value); return value; }
        }

        public interface IPurge
        {
            [SecureAction("db:delete")]
            void Purge(string table);
        }

        public sealed class Purger : IPurge
        {
            void IPurge.Purge(string table) => Effects.Runs.Add("Purger.Purge " + table);
        }

        // The implementation restates the interface's attribute (same values): one action, guarded once per call.
        public interface IMailer
        {
            [SecureAction("email:send")]
            bool Send(string to);
        }

        public sealed class Mailer : IMailer
        {
            [SecureAction("email:send")]
            public bool Send(string to) { Effects.Runs.Add("Mailer.Send " + to); return true; }
        }

        public static class Calls
        {
            public static Task<string> InterfaceAsync() { IRefundService service = new RefundService(); return service.RefundAsync("o-1", 12.5m); }
            public static string Interface() { IStore store = new Store(); return store.Load("i"); }
            public static string ImplementationDirect() => new Store().Load("d");
            public static int Abstract() { Reader reader = new SqlReader(); return reader.Read(1); }
            public static int AbstractImplementationDirect() => new SqlReader().Read(2);
            public static string VirtualOverride() { Cache cache = new FastCache(); return cache.Get("v"); }
            public static string OverrideDirect() => new FastCache().Get("o");
            public static string GenericInterface() { IRepository<string> repository = new Repository<string>(); return repository.Find("g"); }
            public static string GenericTypeDirect() => new Repository<string>().Find("t");
            public static int ClosedGenericImplementation() => new IntRepository().Find(4);
            public static string GenericMethodInterface() { IEcho echo = new Echoer(); return echo.Echo("m"); }
            public static int GenericMethodDirect() => new Echoer().Echo(5);
            public static string TypeParameterReceiver() => Run(new Store());
            public static string StructThroughTypeParameter() { var store = new CountingStore(); string result = RunRef(ref store); return result + "|loads=" + store.Loads; }
            public static int TypeParameterGenericInterface() => FindVia(new IntRepository(), 6);
            public static string ExplicitImplementation() { IPurge purger = new Purger(); purger.Purge("logs"); return "purged"; }
            public static bool RestatedThroughInterface() { IMailer mailer = new Mailer(); return mailer.Send("a@example.com"); }
            public static bool RestatedDirect() => new Mailer().Send("b@example.com");

            private static string Run<T>(T store) where T : IStore => store.Load("tp");
            private static string RunRef<T>(ref T store) where T : IStore => store.Load("s");
            private static TKey FindVia<TRepository, TKey>(TRepository repository, TKey key) where TRepository : IRepository<TKey> => repository.Find(key);
        }
        """;

    /// <summary>Entry method, the capability it needs, the action identity it must be recorded under, and what runs.</summary>
    public static TheoryData<string, string, string, string> Shapes => new()
    {
        { "InterfaceAsync", "payment:refund", "Dispatch.IRefundService.RefundAsync(string, decimal)", "refund o-1" },
        { "Interface", "db:read", "Dispatch.IStore.Load(string)", "Store.Load i" },
        { "ImplementationDirect", "db:read", "Dispatch.IStore.Load(string)", "Store.Load d" },
        { "Abstract", "db:read", "Dispatch.Reader.Read(int)", "SqlReader.Read 1" },
        { "AbstractImplementationDirect", "db:read", "Dispatch.Reader.Read(int)", "SqlReader.Read 2" },
        { "VirtualOverride", "db:query", "Dispatch.Cache.Get(string)", "FastCache.Get v" },
        { "OverrideDirect", "db:query", "Dispatch.Cache.Get(string)", "FastCache.Get o" },
        { "GenericInterface", "db:read", "Dispatch.IRepository<T>.Find(T)", "Repository.Find g" },
        { "GenericTypeDirect", "db:read", "Dispatch.IRepository<T>.Find(T)", "Repository.Find t" },
        { "ClosedGenericImplementation", "db:read", "Dispatch.IRepository<T>.Find(T)", "IntRepository.Find 4" },
        { "GenericMethodInterface", "db:read", "Dispatch.IEcho.Echo(T)", "Echoer.Echo m" },
        { "GenericMethodDirect", "db:read", "Dispatch.IEcho.Echo(T)", "Echoer.Echo 5" },
        { "TypeParameterReceiver", "db:read", "Dispatch.IStore.Load(string)", "Store.Load tp" },
        { "StructThroughTypeParameter", "db:read", "Dispatch.IStore.Load(string)", "CountingStore.Load s" },
        { "TypeParameterGenericInterface", "db:read", "Dispatch.IRepository<T>.Find(T)", "IntRepository.Find 6" },
        { "ExplicitImplementation", "db:delete", "Dispatch.IPurge.Purge(string)", "Purger.Purge logs" },
        { "RestatedThroughInterface", "email:send", "Dispatch.IMailer.Send(string)", "Mailer.Send a@example.com" },
        { "RestatedDirect", "email:send", "Dispatch.IMailer.Send(string)", "Mailer.Send b@example.com" },
    };
}
