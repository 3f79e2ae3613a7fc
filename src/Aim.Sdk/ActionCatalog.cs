using System.Collections.Concurrent;

namespace Aim;

/// <summary>
/// The process-wide table of secured actions. Each assembly compiled with Aim.Sdk registers its generated
/// catalog here from a module initializer, so front doors that do not go through interceptors (MCP
/// filters, AI function wrappers, endpoint filters) find an action's metadata without reflection.
/// </summary>
public static class ActionCatalog
{
    private static readonly ConcurrentDictionary<string, ActionDescriptor> ByMethod = new(StringComparer.Ordinal);

    /// <summary>Registers descriptors (called by generated code). Re-registering a method keeps the first descriptor.</summary>
    public static void Register(params ActionDescriptor[] actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        foreach (var action in actions)
        {
            ByMethod.TryAdd(action.Method, action);
        }
    }

    /// <summary>Every registered action.</summary>
    public static IReadOnlyCollection<ActionDescriptor> All => (IReadOnlyCollection<ActionDescriptor>)ByMethod.Values;

    /// <summary>Finds an action by its method identity (as in <see cref="ActionDescriptor.Method"/>).</summary>
    public static bool TryGet(string method, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ActionDescriptor? action) =>
        ByMethod.TryGetValue(method, out action);

    /// <summary>
    /// Finds an action by declaring type and method name (the form front doors know, for example
    /// <c>Shop.RefundAgent</c> and <c>RefundAsync</c>). Returns false when none or several overloads match.
    /// </summary>
    public static bool TryGet(string declaringType, string methodName, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ActionDescriptor? action)
    {
        action = null;
        string prefix = declaringType + "." + methodName + "(";
        foreach (var candidate in ByMethod.Values)
        {
            if (candidate.Method.StartsWith(prefix, StringComparison.Ordinal))
            {
                if (action is not null)
                {
                    action = null;
                    return false;
                }

                action = candidate;
            }
        }

        return action is not null;
    }
}
