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
}
