namespace Aim.Capabilities;

/// <summary>
/// A permission given to an agent: a capability pattern, optionally limited to resources.
/// The capability pattern is <c>*</c> (everything), <c>namespace:*</c>, <c>*:action</c> or an exact
/// <c>namespace:action</c>; a wildcard always stands for a whole part. The string form adds one
/// resource pattern after <c>@</c>: <c>db:read@users_*</c>. With no resource pattern the grant covers
/// every resource (and actions that name none); with patterns it covers only resources that match one.
/// </summary>
public sealed class CapabilityGrant : IEquatable<CapabilityGrant>
{
    private const string Wildcard = "*";

    private CapabilityGrant(string namespacePattern, string actionPattern, IReadOnlyList<ResourcePattern> resources)
    {
        NamespacePattern = namespacePattern;
        ActionPattern = actionPattern;
        Resources = resources;
        CapabilityPattern = namespacePattern == Wildcard && actionPattern == Wildcard ? Wildcard : namespacePattern + ":" + actionPattern;
        CoversAllResources = resources.Count == 0 || resources.Any(static r => r.MatchesEverything);
    }

    /// <summary>The namespace part, or <c>*</c>.</summary>
    public string NamespacePattern { get; }

    /// <summary>The action part, or <c>*</c>.</summary>
    public string ActionPattern { get; }

    /// <summary>The capability pattern in canonical form (<c>*</c>, <c>db:*</c>, <c>*:read</c>, <c>db:read</c>).</summary>
    public string CapabilityPattern { get; }

    /// <summary>Resource patterns; empty means every resource.</summary>
    public IReadOnlyList<ResourcePattern> Resources { get; }

    /// <summary>True for <c>*</c> with no resource limit: the grant allows everything.</summary>
    public bool IsUnrestricted => NamespacePattern == Wildcard && ActionPattern == Wildcard && CoversAllResources;

    /// <summary>True when either part of the capability pattern is a wildcard.</summary>
    public bool HasWildcard => NamespacePattern == Wildcard || ActionPattern == Wildcard;

    /// <summary>True when no resource pattern limits the grant (or one of them is <c>*</c>).</summary>
    public bool CoversAllResources { get; }

    /// <summary>Parses <c>pattern</c> or <c>pattern@resource-pattern</c>.</summary>
    /// <exception cref="CapabilityFormatException">A part is malformed (the message says which).</exception>
    public static CapabilityGrant Parse(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw new CapabilityFormatException("A grant must not be empty; write namespace:action, namespace:*, *:action or *.");
        }

        // Capability patterns never contain '@', so the first one separates the resource (which may contain more).
        int at = text.IndexOf('@');
        return at < 0 ? Create(text) : Create(text[..at], text[(at + 1)..]);
    }

    /// <summary>Parses a grant; false when it is malformed.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CapabilityGrant? grant)
    {
        try
        {
            grant = text is null ? null : Parse(text);
        }
        catch (CapabilityFormatException)
        {
            grant = null;
        }

        return grant is not null;
    }

    /// <summary>Creates a grant of a capability pattern limited to the given resource patterns (none: every resource).</summary>
    /// <exception cref="CapabilityFormatException">The capability pattern or a resource pattern is malformed.</exception>
    public static CapabilityGrant Create(string capabilityPattern, params IEnumerable<string> resourcePatterns)
    {
        ArgumentNullException.ThrowIfNull(resourcePatterns);
        if (string.IsNullOrEmpty(capabilityPattern))
        {
            throw new CapabilityFormatException("A grant's capability pattern must not be empty; write namespace:action, namespace:*, *:action or *.");
        }

        string ns;
        string action;
        if (capabilityPattern == Wildcard)
        {
            ns = Wildcard;
            action = Wildcard;
        }
        else
        {
            int colon = capabilityPattern.IndexOf(':');
            if (colon < 0 || capabilityPattern.IndexOf(':', colon + 1) >= 0)
            {
                throw new CapabilityFormatException($"Grant '{Capability.Quote(capabilityPattern)}' must be namespace:action (exactly one colon), namespace:*, *:action or *.");
            }

            ns = capabilityPattern[..colon];
            action = capabilityPattern[(colon + 1)..];
            var error = (ns == Wildcard ? null : Capability.ValidatePart(ns, "namespace", capabilityPattern))
                ?? (action == Wildcard ? null : Capability.ValidatePart(action, "action", capabilityPattern));
            if (error is not null)
            {
                throw new CapabilityFormatException(error + " In a grant, '*' may stand for a whole part only.");
            }
        }

        var resources = resourcePatterns.Select(ResourcePattern.Parse).ToArray();
        return new CapabilityGrant(ns, action, resources);
    }

    /// <summary>True when the capability pattern covers <paramref name="capability"/> (resources not considered).</summary>
    public bool Matches(Capability capability)
    {
        ArgumentNullException.ThrowIfNull(capability);
        return (NamespacePattern == Wildcard || string.Equals(NamespacePattern, capability.Namespace, StringComparison.Ordinal))
            && (ActionPattern == Wildcard || string.Equals(ActionPattern, capability.Action, StringComparison.Ordinal));
    }

    /// <summary>True when the resource limit of this grant admits <paramref name="resource"/>; an action that names no resource is admitted only by a grant without a limit.</summary>
    public bool CoversResource(string? resource)
    {
        if (CoversAllResources)
        {
            return true;
        }

        if (resource is null)
        {
            return false;
        }

        for (int i = 0; i < Resources.Count; i++)
        {
            if (Resources[i].Matches(resource.AsSpan()))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the grant covers both the capability and the resource.</summary>
    public bool Matches(Capability capability, string? resource) => Matches(capability) && CoversResource(resource);

    /// <inheritdoc/>
    public bool Equals(CapabilityGrant? other) =>
        other is not null && CapabilityPattern == other.CapabilityPattern && Resources.SequenceEqual(other.Resources);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CapabilityGrant);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(CapabilityPattern);

    /// <summary>The string form: the capability pattern, then <c>@</c> and the resource patterns joined by <c>|</c> (<c>db:read@users_*</c>; only the one-pattern form parses back).</summary>
    public override string ToString() =>
        Resources.Count == 0 ? CapabilityPattern : CapabilityPattern + "@" + string.Join("|", Resources.Select(static r => r.Pattern));
}
