using Aim.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace Aim.SemanticKernel;

/// <summary>Registers Aim on Semantic Kernel: the kernel's filter, and secured <see cref="AIFunction"/>s for the path that skips it.</summary>
public static class AimKernelExtensions
{
    /// <summary>
    /// Adds <see cref="AimFunctionInvocationFilter"/> to the kernel's services, so every invocation through a kernel built
    /// from this builder runs Aim's call path.
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="configure">Mappings and the runtime; optional.</param>
    /// <returns>The builder.</returns>
    public static IKernelBuilder AddAimSecurity(this IKernelBuilder builder, Action<AimKernelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IFunctionInvocationFilter>(new AimFunctionInvocationFilter(Options(configure)));
        return builder;
    }

    /// <summary>Adds <see cref="AimFunctionInvocationFilter"/> to an existing kernel's filters.</summary>
    /// <param name="kernel">The kernel.</param>
    /// <param name="configure">Mappings and the runtime; optional.</param>
    /// <returns>The kernel.</returns>
    public static Kernel AddAimSecurity(this Kernel kernel, Action<AimKernelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (!kernel.FunctionInvocationFilters.Any(f => f is AimFunctionInvocationFilter))
        {
            kernel.FunctionInvocationFilters.Add(new AimFunctionInvocationFilter(Options(configure)));
        }

        return kernel;
    }

    /// <summary>
    /// The plugin's functions as <see cref="AIFunction"/>s for a chat client (<c>plugin.AsAIFunctions(kernel)</c>), each
    /// secured one wrapped in <see cref="SecuredAIFunction"/>: SK does not run the kernel's filters when a function is
    /// invoked as an <see cref="AIFunction"/> (for example by <c>FunctionInvokingChatClient</c>), so the wrapper is what
    /// runs Aim's call path there. Functions with no <c>[SecureAction]</c> and no mapping are returned unwrapped.
    /// </summary>
    /// <param name="plugin">The plugin.</param>
    /// <param name="kernel">The kernel the functions run with.</param>
    /// <param name="options">Mappings and the runtime; optional.</param>
    /// <exception cref="ActionDeniedException">A function's method is secured but its action cannot be resolved (refused at wrap time).</exception>
    public static IList<AIFunction> WithAim(this KernelPlugin plugin, Kernel kernel, AimKernelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        ArgumentNullException.ThrowIfNull(kernel);
        options ??= new AimKernelOptions();
        var functions = new List<AIFunction>();
        foreach (var function in plugin.AsAIFunctions(kernel))
        {
            functions.Add(function is KernelFunction kernelFunction ? Secure(kernelFunction, function, options) : function);
        }

        return functions;
    }

    /// <summary>
    /// One kernel function as an <see cref="AIFunction"/> bound to <paramref name="kernel"/> (<c>function.WithKernel(kernel)</c>),
    /// wrapped in <see cref="SecuredAIFunction"/> when it is secured.
    /// </summary>
    /// <param name="function">The kernel function.</param>
    /// <param name="kernel">The kernel it runs with.</param>
    /// <param name="options">Mappings and the runtime; optional.</param>
    /// <exception cref="ActionDeniedException">The function's method is secured but its action cannot be resolved (refused at wrap time).</exception>
    public static AIFunction WithAim(this KernelFunction function, Kernel kernel, AimKernelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(kernel);
        return Secure(function, function.WithKernel(kernel), options ?? new AimKernelOptions());
    }

    private static AIFunction Secure(KernelFunction function, AIFunction bound, AimKernelOptions options) =>
        KernelActions.Resolve(function, options) is { } action ? new SecuredAIFunction(bound, action, options.Runtime) : bound;

    private static AimKernelOptions Options(Action<AimKernelOptions>? configure)
    {
        var options = new AimKernelOptions();
        configure?.Invoke(options);
        return options;
    }
}
