using Microsoft.SemanticKernel;

namespace Aim.SemanticKernel;

/// <summary>Finds the action of a kernel function: a mapping by name, else the one resolver on its method.</summary>
internal static class KernelActions
{
    /// <summary>The function's action, or null when it is not secured.</summary>
    /// <exception cref="ActionDeniedException">The method is secured but its action cannot be resolved (<c>action_unresolvable</c>).</exception>
    public static ActionDescriptor? Resolve(KernelFunction function, AimKernelOptions options)
    {
        if (Mapped(function, options) is { } mapped)
        {
            return mapped;
        }

        var resolution = ActionResolver.Resolve(function.UnderlyingMethod);
        return resolution.Kind == ActionResolutionKind.Unresolvable ? throw resolution.Refusal(function.Name) : resolution.Action;
    }

    private static ActionDescriptor? Mapped(KernelFunction function, AimKernelOptions options)
    {
        if (options.Functions.Count == 0)
        {
            return null;
        }

        if (function.PluginName is { Length: > 0 } plugin && options.Functions.TryGetValue(plugin + "." + function.Name, out var qualified))
        {
            return qualified;
        }

        return options.Functions.TryGetValue(function.Name, out var byName) ? byName : null;
    }
}
