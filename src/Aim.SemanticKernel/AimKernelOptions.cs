namespace Aim.SemanticKernel;

/// <summary>Settings of Aim's Semantic Kernel front door.</summary>
public sealed class AimKernelOptions
{
    /// <summary>
    /// Actions for kernel functions whose method has no <c>[SecureAction]</c> (prompt functions, lambdas, imported
    /// functions), by function name (<c>Function</c>) or plugin-qualified name (<c>Plugin.Function</c>, checked first).
    /// A mapping wins over the method's attribute.
    /// </summary>
    public IDictionary<string, ActionDescriptor> Functions { get; } = new Dictionary<string, ActionDescriptor>(StringComparer.Ordinal);

    /// <summary>The runtime to use; null for <see cref="AimRuntime.Current"/> at call time.</summary>
    public AimRuntime? Runtime { get; set; }
}
