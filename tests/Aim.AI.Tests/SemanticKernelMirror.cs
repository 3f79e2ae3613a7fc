// Declarations that mirror Semantic Kernel's public filter API (Microsoft.SemanticKernel.Abstractions 1.x), which our
// package registry does not serve. The generator sees IFunctionInvocationFilter here and emits AimFunctionInvocationFilter
// and AddAimSecurity() into this assembly; these tests compile and run that emitted code. Only members the emitted code
// touches, or that a test needs, are declared; their names, types and shapes are SK's.
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.SemanticKernel;

public interface IFunctionInvocationFilter
{
    Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next);
}

public interface IKernelBuilderPlugins
{
    IServiceCollection Services { get; }
}

public interface IKernelBuilder
{
    IServiceCollection Services { get; }

    IKernelBuilderPlugins Plugins { get; }
}

public sealed class Kernel
{
    public IList<IFunctionInvocationFilter> FunctionInvocationFilters { get; } = [];
}

public sealed class KernelArguments : Dictionary<string, object?>
{
    public KernelArguments()
        : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

public sealed class FunctionResult(KernelFunction function, object? value = null)
{
    public KernelFunction Function { get; } = function;

    public object? Value { get; } = value;
}

/// <summary>SK: <c>KernelFunction : FullyQualifiedAIFunction : AIFunction</c>; a kernel function created from a method reports it as UnderlyingMethod.</summary>
public abstract class KernelFunction : AIFunction
{
    public string? PluginName { get; init; }
}

public class FunctionInvocationContext
{
    internal FunctionInvocationContext(Kernel kernel, KernelFunction function, KernelArguments arguments, FunctionResult result, bool isStreaming, CancellationToken cancellationToken)
    {
        Kernel = kernel;
        Function = function;
        Arguments = arguments;
        Result = result;
        IsStreaming = isStreaming;
        CancellationToken = cancellationToken;
    }

    public CancellationToken CancellationToken { get; init; }

    public bool IsStreaming { get; init; }

    public Kernel Kernel { get; }

    public KernelFunction Function { get; }

    public KernelArguments Arguments { get; }

    public FunctionResult Result { get; set; }

    public bool Terminate { get; set; }
}
