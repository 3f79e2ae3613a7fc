using System.Reflection;
using Aim.Generated;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace Aim.AI.Tests;

public sealed class SemanticKernelFilterTests
{
    /// <summary>A kernel function from a method, as KernelFunctionFromMethod is: its UnderlyingMethod is the method.</summary>
    private sealed class MethodFunction(AIFunction inner) : KernelFunction
    {
        public override string Name => inner.Name;

        public override MethodInfo? UnderlyingMethod => inner.UnderlyingMethod;

        protected override ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken) =>
            inner.InvokeAsync(arguments, cancellationToken);
    }

    private sealed class Builder : IKernelBuilder, IKernelBuilderPlugins
    {
        public IServiceCollection Services { get; } = new ServiceCollection();

        public IKernelBuilderPlugins Plugins => this;
    }

    private static async Task<object?> InvokeThroughKernelAsync(IFunctionInvocationFilter filter, KernelFunction function, KernelArguments arguments)
    {
        // What the kernel does: build the context, run the filter chain, the innermost step invokes the function.
        var context = new FunctionInvocationContext(new Kernel(), function, arguments, new FunctionResult(function), isStreaming: false, CancellationToken.None);
        await filter.OnFunctionInvocationAsync(context, async ctx =>
        {
            var value = await ctx.Function.InvokeAsync(new AIFunctionArguments(ctx.Arguments), ctx.CancellationToken);
            ctx.Result = new FunctionResult(ctx.Function, value);
        });
        return context.Result.Value;
    }

    private static KernelFunction Function(SupportTools tools, string name) =>
        new MethodFunction(AIFunctionFactory.Create(typeof(SupportTools).GetMethod(name)!, tools));

    [Fact]
    public async Task AddAimSecurity_registers_the_generated_filter()
    {
        var builder = new Builder();
        Assert.Same(builder, builder.AddAimSecurity());
        var filter = builder.Services.BuildServiceProvider().GetRequiredService<IFunctionInvocationFilter>();
        Assert.IsType<AimFunctionInvocationFilter>(filter);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Granted_function_runs_through_the_call_path()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var filter = new AimFunctionInvocationFilter(aim.Runtime);

        var result = await InvokeThroughKernelAsync(filter, Function(tools, nameof(SupportTools.LookupUser)), new KernelArguments { ["userId"] = "5" });

        Assert.Contains("user:5", result?.ToString());
        Assert.Equal(1, tools.Reads);
        Assert.Contains(await aim.AuditAsync(), r => r.Kind == Aim.Audit.AuditEntryKind.Outcome && r.Capability == "db:read");
    }

    [Fact]
    public async Task Denied_function_never_runs_its_body()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var filter = new AimFunctionInvocationFilter(aim.Runtime);

        await Assert.ThrowsAsync<ActionDeniedException>(() =>
            InvokeThroughKernelAsync(filter, Function(tools, nameof(SupportTools.SendEmailAsync)), new KernelArguments { ["to"] = "x", ["body"] = "y" }));
        Assert.Equal(0, tools.Sends);
    }

    [Fact]
    public async Task Function_without_SecureAction_passes_through()
    {
        var filter = new AimFunctionInvocationFilter();
        var result = await InvokeThroughKernelAsync(filter, Function(new SupportTools(), nameof(SupportTools.NotSecured)), []);
        Assert.Contains("open", result?.ToString());
    }

    [Fact]
    public async Task Overloaded_function_is_authorized_as_its_own_overload()
    {
        await using var aim = new TestRuntime("email:send");
        var tools = new SupportTools();
        var filter = new AimFunctionInvocationFilter(aim.Runtime);
        var overload = typeof(SupportTools).GetMethod(nameof(SupportTools.Overloaded), [typeof(int)])!;

        // Two secured overloads share a name: the filter must find this one's action (db:read, not granted), never pass it through.
        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() =>
            InvokeThroughKernelAsync(filter, new MethodFunction(AIFunctionFactory.Create(overload, tools)), new KernelArguments { ["a"] = 3 }));
        Assert.Equal("capability_not_granted", denied.ReasonCode);
        Assert.Equal("db:read", denied.Capability);
    }

    [Fact]
    public async Task Function_on_a_generic_type_is_authorized_not_passed_through()
    {
        await using var aim = new TestRuntime("db:read");
        var box = new GenericTools<string>();
        var filter = new AimFunctionInvocationFilter(aim.Runtime);
        var put = typeof(GenericTools<string>).GetMethod(nameof(GenericTools<string>.Put))!;

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() =>
            InvokeThroughKernelAsync(filter, new MethodFunction(AIFunctionFactory.Create(put, box)), new KernelArguments { ["item"] = "x" }));
        Assert.Equal("db:write", denied.Capability);
        Assert.Equal(0, box.Puts);
    }

    [Fact]
    public async Task Secured_method_missing_from_the_catalog_is_refused()
    {
        await using var aim = new TestRuntime("db:read");
        var method = UncatalogedMethod.Create();
        var filter = new AimFunctionInvocationFilter(aim.Runtime);

        var refused = await Assert.ThrowsAsync<ActionDeniedException>(() =>
            InvokeThroughKernelAsync(filter, new MethodFunction(AIFunctionFactory.Create(method, target: null)), []));
        Assert.Equal(ActionResolution.UnresolvableReasonCode, refused.ReasonCode);
        Assert.Equal(0, UncatalogedMethod.Runs);
    }
}

public sealed class GenericTools<T>
{
    public int Puts;

    [SecureAction("db:write")]
    public string Put(T item)
    {
        Interlocked.Increment(ref Puts);
        return "stored " + item;
    }
}

/// <summary>A [SecureAction] method in an assembly the generator never saw (emitted at run time), so no catalog has it.</summary>
public static class UncatalogedMethod
{
    private static int runs;

    public static int Runs => Volatile.Read(ref runs);

    public static void Ran() => Interlocked.Increment(ref runs);

    public static System.Reflection.MethodInfo Create()
    {
        var assembly = System.Reflection.Emit.AssemblyBuilder.DefineDynamicAssembly(new System.Reflection.AssemblyName("Uncataloged" + Guid.NewGuid().ToString("N")), System.Reflection.Emit.AssemblyBuilderAccess.Run);
        var type = assembly.DefineDynamicModule("m").DefineType("Plugins.Dynamic", System.Reflection.TypeAttributes.Public | System.Reflection.TypeAttributes.Sealed | System.Reflection.TypeAttributes.Abstract);
        var method = type.DefineMethod("Delete", System.Reflection.MethodAttributes.Public | System.Reflection.MethodAttributes.Static, typeof(void), Type.EmptyTypes);
        method.SetCustomAttribute(new System.Reflection.Emit.CustomAttributeBuilder(typeof(SecureActionAttribute).GetConstructor([typeof(string)])!, ["db:read"]));
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Call, typeof(UncatalogedMethod).GetMethod(nameof(Ran))!);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        return type.CreateType()!.GetMethod("Delete")!;
    }
}
