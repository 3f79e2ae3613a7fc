namespace Aim;

/// <summary>
/// Declares, for the IDE, the capabilities this assembly's agent is granted: analyzer AIM003 warns when a
/// <c>[SecureAction]</c> needs a capability outside this list (an <c>aim.json</c> file can declare them instead).
/// It grants nothing at run time; grants come from <see cref="AimOptions.Grant"/>, a policy file or the Aim server.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class AgentCapabilitiesAttribute : Attribute
{
    /// <summary>Declares granted capabilities (wildcards such as <c>db:*</c> allowed).</summary>
    public AgentCapabilitiesAttribute(params string[] capabilities)
    {
        Capabilities = capabilities ?? [];
    }

    /// <summary>The declared capabilities.</summary>
    public IReadOnlyList<string> Capabilities { get; }
}
