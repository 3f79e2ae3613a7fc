using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Aim.Sdk.Generators.Tests;

public sealed class InterceptorShapeTests
{
    [Fact]
    public void Every_shape_in_scope_compiles_without_diagnostics()
    {
        var (output, diagnostics, sources) = Harness.Generate(Harness.Compile(Sources.Shapes));

        Assert.Empty(diagnostics);
        var problems = Harness.Problems(output);
        Assert.True(problems.Count == 0, Harness.Describe(problems, sources));
    }

    [Fact]
    public void Every_call_of_a_secured_method_is_intercepted_once()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile(Sources.Shapes));

        string interceptors = sources["AimInterceptors.g.cs"];
        int attributes = Regex.Matches(interceptors, @"\[global::System\.Runtime\.CompilerServices\.InterceptsLocation\(").Count;
        Assert.Equal(30, attributes);
    }

    [Fact]
    public void Call_sites_of_one_method_share_one_interceptor()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile(Sources.Shapes));

        string interceptors = sources["AimInterceptors.g.cs"];
        var optional = Regex.Match(interceptors, @"((?:\s*\[global::System\.Runtime\.CompilerServices\.InterceptsLocation[^\n]*\n)+)\s*internal static int Intercept\d+_Optional\(");
        Assert.True(optional.Success, interceptors);
        Assert.Equal(2, Regex.Matches(optional.Groups[1].Value, "InterceptsLocation").Count);
    }

    [Fact]
    public void Generated_code_uses_global_names_and_the_file_local_attribute()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile(Sources.Shapes));

        string interceptors = sources["AimInterceptors.g.cs"];
        Assert.Contains("file sealed class InterceptsLocationAttribute", interceptors);
        Assert.Contains("namespace Aim.Generated", interceptors);
        Assert.Contains("global::Aim.AimRuntime.Current.", interceptors);
        Assert.DoesNotContain("using ", interceptors);
    }

    [Fact]
    public void Descriptors_are_emitted_once_per_method_in_the_catalog()
    {
        var (_, _, sources) = Harness.Generate(Harness.Compile(Sources.Shapes));

        string catalog = sources["AimActionCatalog.g.cs"];
        int fields = Regex.Matches(catalog, @"internal static readonly global::Aim\.ActionDescriptor Action_").Count;
        Assert.Equal(21, fields); // 21 [SecureAction] methods in Sources.Shapes
        Assert.DoesNotContain("new global::Aim.ActionDescriptor(", sources["AimInterceptors.g.cs"]);
    }

    [Fact]
    public void Methods_from_a_referenced_assembly_are_intercepted_with_their_own_descriptor()
    {
        var library = Harness.Compile("""
            using Aim;
            namespace Lib;
            public sealed class Mailer
            {
                [SecureAction("email:send", JitAccess = true)]
                public bool Send(string to) => to.Length > 0;
            }
            """, "Lib");
        using var stream = new MemoryStream();
        Assert.True(library.Emit(stream).Success);
        var reference = MetadataReference.CreateFromImage(stream.ToArray());

        var app = Harness.Compile("""
            namespace App;
            public static class Program
            {
                public static bool Run() => new Lib.Mailer().Send("x@example.com");
            }
            """, "App", [reference]);
        var (output, _, sources) = Harness.Generate(app);

        var problems = Harness.Problems(output);
        Assert.True(problems.Count == 0, Harness.Describe(problems, sources));
        Assert.Contains("new global::Aim.ActionDescriptor(\"email:send\"", sources["AimInterceptors.g.cs"]);
        Assert.False(sources.ContainsKey("AimActionCatalog.g.cs")); // no secured method declared in App
    }

    [Fact]
    public void Uninterceptable_uses_are_left_alone_and_still_compile()
    {
        var source = """
            using System;
            using System.Linq.Expressions;
            using Aim;
            namespace Odd;
            public class Base
            {
                [SecureAction("db:read")]
                public virtual int Read() => 1;
            }
            public class Child : Base
            {
                public override int Read() => base.Read() + 1;
                public Func<int> Group() => Read;
                public Expression<Func<Base, int>> Tree() => b => b.Read();
            }
            """;
        var (output, _, sources) = Harness.Generate(Harness.Compile(source));

        var problems = Harness.Problems(output);
        Assert.True(problems.Count == 0, Harness.Describe(problems, sources));
        Assert.False(sources.ContainsKey("AimInterceptors.g.cs"));
    }

    [Fact]
    public void Private_secured_methods_get_no_interceptor()
    {
        var source = """
            using Aim;
            namespace P;
            public class Holder
            {
                [SecureAction("db:read")]
                private int Hidden() => 1;
                public int Call() => Hidden();
            }
            """;
        var (_, _, sources) = Harness.Generate(Harness.Compile(source));

        Assert.False(sources.ContainsKey("AimInterceptors.g.cs"));
    }

    [Fact]
    public void Nothing_is_generated_without_the_runtime()
    {
        var compilation = CSharpCompilation.Create(
            "NoRuntime",
            [CSharpSyntaxTree.ParseText("namespace Aim { public sealed class SecureActionAttribute : System.Attribute { public SecureActionAttribute(string c) { } } } class C { [Aim.SecureAction(\"db:read\")] public void M() { } void N() => M(); }", Harness.ParseOptions)],
            Basic.References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var (_, _, sources) = Harness.Generate(compilation);

        Assert.Empty(sources);
    }

    [Fact]
    public void Named_arguments_using_static_and_nested_generics_compile()
    {
        const string source = """
            using System.Threading.Tasks;
            using Aim;
            using static Odd.Outer<int>.Inner<string>;
            namespace Odd;
            public class Outer<T>
            {
                public class Inner<U>
                {
                    [SecureAction("db:read")]
                    public static (T, U) Pair(T t, U u) => (t, u);

                    [SecureAction("db:write")]
                    public async ValueTask<V> Convert<V>(T t, U u, V v) where V : struct { await Task.Yield(); return v; }
                }
            }
            public static class Use
            {
                [SecureAction("db:read")]
                public static int Sub(int a, int b = 1) => a - b;

                public static async Task<int> Run()
                {
                    var pair = Pair(1, "x");
                    int n = Sub(b: 2, a: 5);
                    var v = await new Outer<long>.Inner<string>().Convert(1L, "y", 3.5);
                    return n + pair.Item1 + (int)v;
                }
            }
            """;
        var (output, _, sources) = Harness.Generate(Harness.Compile(source));

        var problems = Harness.Problems(output);
        Assert.True(problems.Count == 0, Harness.Describe(problems, sources));
        Assert.Equal(3, Regex.Matches(sources["AimInterceptors.g.cs"], "InterceptsLocation\\(1").Count);
    }

    [Fact]
    public void Struct_receivers_that_are_values_or_readonly_compile()
    {
        const string source = """
            using Aim;
            namespace S;
            public struct Counter
            {
                public int Count;

                [SecureAction("db:write")]
                public void Increment() => Count++;

                [SecureAction("db:read")]
                public readonly int Peek() => Count;
            }
            public readonly struct Frozen
            {
                [SecureAction("db:read")]
                public int Value() => 1;
            }
            public sealed class Holder
            {
                private readonly Counter _readonlyCounter = new();
                private Counter _counter;

                public static Counter Make() => new();

                public int Run(in Counter byIn)
                {
                    Make().Increment();
                    _readonlyCounter.Increment();
                    _counter.Increment();
                    new Frozen().Value();
                    return byIn.Peek() + _readonlyCounter.Peek() + Make().Peek();
                }
            }
            """;
        var (output, _, sources) = Harness.Generate(Harness.Compile(source));

        var problems = Harness.Problems(output);
        Assert.True(problems.Count == 0, Harness.Describe(problems, sources));
        Assert.Equal(7, Regex.Matches(sources["AimInterceptors.g.cs"], "InterceptsLocation\\(1").Count);
    }

    [Fact]
    public void Generator_runs_when_compilation_options_cannot_be_hashed()
    {
        // The command-line compiler's resolvers throw NotImplementedException from GetHashCode.
        var compilation = Harness.Compile(Sources.Shapes);
        compilation = compilation.WithOptions(compilation.Options.WithSourceReferenceResolver(new UnhashableResolver()));

        var (_, diagnostics, sources) = Harness.Generate(compilation);

        Assert.Empty(diagnostics);
        Assert.Contains("AimInterceptors.g.cs", sources.Keys);
    }

    private sealed class UnhashableResolver : SourceReferenceResolver
    {
        public override bool Equals(object? other) => ReferenceEquals(this, other);

        public override int GetHashCode() => throw new NotImplementedException();

        public override string? NormalizePath(string path, string? baseFilePath) => path;

        public override Stream OpenRead(string resolvedPath) => throw new FileNotFoundException(resolvedPath);

        public override string? ResolveReference(string path, string? baseFilePath) => null;
    }

    [Fact]
    public void Generated_source_is_deterministic()
    {
        var first = Harness.Generate(Harness.Compile(Sources.Shapes)).Sources;
        var second = Harness.Generate(Harness.Compile(Sources.Shapes)).Sources;

        Assert.Equal(first, second);
    }
}

/// <summary>Only the platform, no Aim assemblies.</summary>
internal static class Basic
{
    public static readonly MetadataReference[] References =
        [.. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("Aim.", StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p))];
}
