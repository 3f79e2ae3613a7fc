using Microsoft.Extensions.AI;

namespace Aim.AI;

/// <summary>Wraps Microsoft.Extensions.AI tools so a chat client's tool calls run Aim's call path.</summary>
public static class AimAIFunctionExtensions
{
    /// <summary>
    /// Wraps one function. The action is <paramref name="action"/> when given, else the generated catalog's entry for
    /// the function's <see cref="AIFunction.UnderlyingMethod"/> (its <c>[SecureAction]</c>).
    /// </summary>
    /// <param name="function">The function to protect.</param>
    /// <param name="action">The action it performs; null to look it up in the catalog.</param>
    /// <param name="runtime">The runtime to use; null for <see cref="AimRuntime.Current"/> at call time.</param>
    /// <returns>The wrapper (the same instance when <paramref name="function"/> is already wrapped with no new action).</returns>
    /// <exception cref="AimConfigurationException">No action was given and the function's method has no <c>[SecureAction]</c>
    /// in the catalog: an unprotected tool is refused at wrap time rather than left open.</exception>
    public static SecuredAIFunction WithAim(this AIFunction function, ActionDescriptor? action = null, AimRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (function is SecuredAIFunction secured && action is null && runtime is null)
        {
            return secured;
        }

        action ??= Resolve(function, null);
        return new SecuredAIFunction(function, action, runtime);
    }

    /// <summary>
    /// Wraps every <see cref="AIFunction"/> in a tool list (for <c>ChatOptions.Tools</c>). Each function's action comes
    /// from <paramref name="actions"/> by tool name, else from the catalog. Tools that are not functions (provider-hosted
    /// tools, which never run in this process) are kept as they are.
    /// </summary>
    /// <param name="tools">The tools.</param>
    /// <param name="actions">Actions for tools without a <c>[SecureAction]</c> method (lambdas, MCP client tools), by tool name.</param>
    /// <param name="runtime">The runtime to use; null for <see cref="AimRuntime.Current"/> at call time.</param>
    /// <exception cref="AimConfigurationException">A function has neither a mapping nor a catalog entry.</exception>
    public static IList<AITool> WithAim(this IEnumerable<AITool> tools, IReadOnlyDictionary<string, ActionDescriptor>? actions = null, AimRuntime? runtime = null)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var wrapped = new List<AITool>();
        foreach (var tool in tools)
        {
            wrapped.Add(tool switch
            {
                null => throw new ArgumentException("The tool list contains null.", nameof(tools)),
                SecuredAIFunction secured when runtime is null && (actions is null || !actions.ContainsKey(secured.Name)) => secured,
                AIFunction function => new SecuredAIFunction(function, Resolve(function, actions), runtime),
                _ => tool,
            });
        }

        return wrapped;
    }

    private static ActionDescriptor Resolve(AIFunction function, IReadOnlyDictionary<string, ActionDescriptor>? actions)
    {
        if (actions is not null && actions.TryGetValue(function.Name, out var mapped))
        {
            return mapped;
        }

        var method = function.UnderlyingMethod; // a DelegatingAIFunction reports its inner function's method
        var resolution = ActionResolver.Resolve(method);
        if (resolution.Action is { } action)
        {
            return action;
        }

        if (resolution.Kind == ActionResolutionKind.Unresolvable)
        {
            throw new AimConfigurationException($"The AI function '{function.Name}' cannot be secured: {resolution.Problem}");
        }

        throw new AimConfigurationException(
            $"The AI function '{function.Name}' has no [SecureAction] in the action catalog and no mapping was given, so it cannot be secured. " +
            "Mark its method with [SecureAction(\"ns:action\")] or pass an ActionDescriptor for it.");
    }
}
