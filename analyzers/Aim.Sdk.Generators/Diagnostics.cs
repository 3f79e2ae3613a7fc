using Microsoft.CodeAnalysis;

namespace Aim.Sdk.Generators;

/// <summary>The AIM diagnostics. Severity can be changed per rule in .editorconfig (<c>dotnet_diagnostic.AIM002.severity = error</c>).</summary>
public static class AimDiagnostics
{
    /// <summary>Where each rule's page lives (docs/diagnostics/AIMxxx.md in the repository).</summary>
    public const string HelpLinkBase = "https://github.com/aim-dotnet/aim/blob/main/docs/diagnostics/";

    /// <summary>Property key on AIM002 diagnostics: the detected level's <c>RiskLevel</c> member name.</summary>
    public const string DetectedRiskProperty = "DetectedRisk";

    /// <summary>Property key on AIM003 diagnostics: the capability to grant.</summary>
    public const string CapabilityProperty = "Capability";

    /// <summary>AIM001: malformed capability.</summary>
    public static readonly DiagnosticDescriptor MalformedCapability = Rule(
        "AIM001", "Malformed capability string",
        "Capability '{0}' is malformed: use 'namespace:action' with lower-case ASCII letters, digits, '_' or '-', each part starting with a letter",
        "Aim.Capabilities", DiagnosticSeverity.Error);

    /// <summary>AIM002: declared risk below the detected risk.</summary>
    public static readonly DiagnosticDescriptor RiskUnderstated = Rule(
        "AIM002", "Declared risk is lower than the detected risk",
        "Capability '{0}' declares RiskLevel.{1}, but its detected risk is {2}; the declared level weakens the checks this action gets",
        "Aim.Risk", DiagnosticSeverity.Warning);

    /// <summary>AIM003: capability not granted.</summary>
    public static readonly DiagnosticDescriptor CapabilityNotGranted = Rule(
        "AIM003", "Capability is not in the agent's declared grants",
        "Capability '{0}' is not covered by the agent's declared grants ({1}); every call will be denied",
        "Aim.Capabilities", DiagnosticSeverity.Warning);

    /// <summary>AIM004: critical without JIT.</summary>
    public static readonly DiagnosticDescriptor CriticalWithoutJit = Rule(
        "AIM004", "Critical action without JIT access",
        "Capability '{0}' is critical risk but does not require JIT approval; set JitAccess = true",
        "Aim.Risk", DiagnosticSeverity.Warning);

    /// <summary>AIM005: secured method used where it is not intercepted.</summary>
    public static readonly DiagnosticDescriptor UnguardedUse = Rule(
        "AIM005", "Secured method used where it cannot be intercepted",
        "'{0}' is a [SecureAction] method, but this use is not intercepted ({1}); the call runs without authorization or audit",
        "Aim.Interception", DiagnosticSeverity.Warning);

    /// <summary>AIM006: [SecureAction] on an uninterceptable member.</summary>
    public static readonly DiagnosticDescriptor CannotIntercept = Rule(
        "AIM006", "[SecureAction] on a member that cannot be intercepted",
        "[SecureAction] on '{0}' cannot be enforced: {1}",
        "Aim.Interception", DiagnosticSeverity.Error);

    /// <summary>AIM007: a secured member can also be called through a declaration that is not secured.</summary>
    public static readonly DiagnosticDescriptor UnsecuredDeclaration = Rule(
        "AIM007", "Secured member reachable through an unsecured interface or base member",
        "'{0}' is secured, but '{1}' is not, so calls through '{2}' run without authorization or audit; {3}",
        "Aim.Interception", DiagnosticSeverity.Error);

    /// <summary>AIM008: an implementation or override repeats [SecureAction] with other values than the member it implements or overrides.</summary>
    public static readonly DiagnosticDescriptor ConflictingDeclaration = Rule(
        "AIM008", "[SecureAction] conflicts with the interface or base member's declaration",
        "[SecureAction] on '{0}' differs from the one on '{1}' ({2}); a call would be authorized differently depending on the type it is made through",
        "Aim.Interception", DiagnosticSeverity.Error);

    /// <summary>AIM009: a call of a secured method that cannot be intercepted.</summary>
    public static readonly DiagnosticDescriptor UninterceptableCall = Rule(
        "AIM009", "Call of a secured method cannot be intercepted",
        "'{0}' is secured by [SecureAction] on '{1}', but this call cannot be intercepted: {2}; it would run without authorization or audit",
        "Aim.Interception", DiagnosticSeverity.Error);

    /// <summary>
    /// Property key on AIM007 and AIM006 diagnostics that a code fix can resolve by moving the attribute: the display
    /// name of the member that should carry it (its declaration is the diagnostic's first additional location).
    /// </summary>
    public const string MoveToProperty = "MoveTo";

    private static DiagnosticDescriptor Rule(string id, string title, string message, string category, DiagnosticSeverity severity) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, helpLinkUri: HelpLinkBase + id + ".md");
}
