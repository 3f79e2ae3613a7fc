using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Aim.Sdk.Generators;

/// <summary>
/// Checks, per type, that every way of calling a secured member is secured the same way: an override or an
/// implementation whose base or interface member is not secured (AIM007: a call through that member would run
/// unguarded), an interface member whose implementation is inherited from a type where it is not secured (AIM007),
/// and a repeated <c>[SecureAction]</c> whose values differ from the declaration it restates (AIM008).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class SecuredDeclarationsAnalyzer : DiagnosticAnalyzer
{
    private static readonly SymbolDisplayFormat Display = SymbolDisplayFormat.CSharpErrorMessageFormat;

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        AimDiagnostics.UnsecuredDeclaration,
        AimDiagnostics.ConflictingDeclaration);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (start.Compilation.GetTypeByMetadataName(SecureActionSymbols.AttributeMetadataName) is null)
            {
                return;
            }

            start.RegisterSymbolAction(AnalyzeType, SymbolKind.NamedType);
        });
    }

    private static void AnalyzeType(SymbolAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.TypeKind is not (TypeKind.Class or TypeKind.Struct))
        {
            return;
        }

        foreach (ISymbol member in type.GetMembers())
        {
            if (member is IMethodSymbol { IsImplicitlyDeclared: false } method)
            {
                AnalyzeMember(context, method);
            }
        }

        foreach (INamedTypeSymbol iface in type.AllInterfaces)
        {
            foreach (ISymbol member in iface.GetMembers())
            {
                if (member is IMethodSymbol { IsStatic: false, MethodKind: MethodKind.Ordinary } interfaceMember)
                {
                    AnalyzeImplementation(context, type, iface, interfaceMember);
                }
            }
        }
    }

    // A member written in this type: its own [SecureAction] must agree with every declaration it restates, and an
    // override must not be secured when the member it overrides is not.
    private static void AnalyzeMember(SymbolAnalysisContext context, IMethodSymbol method)
    {
        AttributeData? own = SecureActionSymbols.OwnAttribute(method);
        Location location = own is not null ? AttributeLocation(own, context.CancellationToken) ?? method.Locations[0] : method.Locations[0];
        if (own is not null)
        {
            ActionModel mine = SecureActionSymbols.ReadAction(own, method);
            foreach (IMethodSymbol other in SecureActionSymbols.Declarations(method).Skip(1))
            {
                if (SecureActionSymbols.OwnAttribute(other) is { } theirs)
                {
                    ActionModel declared = SecureActionSymbols.ReadAction(theirs, other);
                    if (!SecureActionSymbols.SameAction(mine, declared))
                    {
                        context.ReportDiagnostic(Diagnostic.Create(
                            AimDiagnostics.ConflictingDeclaration, location, Name(method), Name(other), Differences(mine, declared)));
                        break;
                    }
                }
            }
        }

        if (!method.IsOverride || method.OverriddenMethod is not { } overridden
            || SecureActionSymbols.FindAttribute(method, out _) is null
            || SecureActionSymbols.FindAttribute(overridden, out _) is not null)
        {
            return;
        }

        // Every override inherits the root's attribute, so that is where it belongs.
        IMethodSymbol root = overridden.OriginalDefinition;
        while (root.OverriddenMethod is { } up)
        {
            root = up.OriginalDefinition;
        }

        Location? target = own is not null ? DeclarationLocation(root, context.Compilation) : null;
        string fix = target is not null
            ? "move [SecureAction] to '" + Name(root) + "' (code fix) so every override inherits it"
            : "'" + Name(root) + "' cannot carry it here, so secure a separate method that this override calls instead";
        Report(context, AimDiagnostics.UnsecuredDeclaration, location, target, root, Name(method), Name(overridden), Name(overridden.ContainingType), fix);
    }

    // One interface member of the type and the member that implements it (declared here or inherited).
    private static void AnalyzeImplementation(SymbolAnalysisContext context, INamedTypeSymbol type, INamedTypeSymbol iface, IMethodSymbol interfaceMember)
    {
        if (type.FindImplementationForInterfaceMember(interfaceMember) is not IMethodSymbol implementation)
        {
            return;
        }

        bool declaredHere = SymbolEqualityComparer.Default.Equals(implementation.ContainingType.OriginalDefinition, type.OriginalDefinition);
        if (!declaredHere && type.BaseType is { } baseType
            && SymbolEqualityComparer.Default.Equals(baseType.FindImplementationForInterfaceMember(interfaceMember), implementation))
        {
            return; // the base type pairs them the same way and is checked on its own
        }

        AttributeData? onInterface = SecureActionSymbols.OwnAttribute(interfaceMember);
        AttributeData? onImplementation = SecureActionSymbols.FindAttribute(implementation, out _);
        AttributeData? own = declaredHere ? SecureActionSymbols.OwnAttribute(implementation) : null;
        Location location = own is not null
            ? AttributeLocation(own, context.CancellationToken) ?? implementation.Locations[0]
            : declaredHere ? implementation.Locations[0] : type.Locations[0];

        if (onInterface is null && onImplementation is not null)
        {
            if (own is not null && implementation.MethodKind == MethodKind.ExplicitInterfaceImplementation)
            {
                return; // AIM006 reports it, with the same fix
            }

            Location? target = own is not null ? DeclarationLocation(interfaceMember, context.Compilation) : null;
            string fix = target is not null
                ? "move [SecureAction] to '" + Name(interfaceMember) + "' (code fix)"
                : own is not null && !interfaceMember.Locations.Any(l => l.IsInSource)
                    ? "'" + Name(iface) + "' is declared outside this compilation, so implement it with a member that calls a separate secured method"
                    : "put the same [SecureAction] on '" + Name(interfaceMember) + "'";
            Report(context, AimDiagnostics.UnsecuredDeclaration, location, target, interfaceMember, Name(implementation), Name(interfaceMember), Name(iface), fix);
            return;
        }

        if (onInterface is not null && onImplementation is null)
        {
            // Only an implementation inherited from a type that does not implement the interface gets here.
            string fix = "override or re-implement '" + interfaceMember.Name + "' in '" + Name(type)
                + "' (it then inherits the interface member's action), or put the same [SecureAction] on '" + Name(implementation) + "'";
            Report(context, AimDiagnostics.UnsecuredDeclaration, location, null, null, Name(interfaceMember), Name(implementation), Name(implementation.ContainingType), fix);
            return;
        }

        if (onInterface is not null && own is null)
        {
            // Attributes written here were compared in AnalyzeMember; this compares inherited ones with the interface's.
            ActionModel expected = SecureActionSymbols.ReadAction(onInterface, interfaceMember.OriginalDefinition);
            foreach (IMethodSymbol declaration in SecureActionSymbols.Declarations(implementation))
            {
                if (SecureActionSymbols.OwnAttribute(declaration) is { } attribute)
                {
                    ActionModel actual = SecureActionSymbols.ReadAction(attribute, declaration);
                    if (!SecureActionSymbols.SameAction(expected, actual))
                    {
                        context.ReportDiagnostic(Diagnostic.Create(
                            AimDiagnostics.ConflictingDeclaration, location, Name(declaration), Name(interfaceMember), Differences(actual, expected)));
                        return;
                    }
                }
            }
        }
    }

    private static void Report(SymbolAnalysisContext context, DiagnosticDescriptor rule, Location location, Location? moveTarget, IMethodSymbol? moveTo, params object[] args)
    {
        ImmutableDictionary<string, string?> properties = moveTarget is not null && moveTo is not null
            ? ImmutableDictionary<string, string?>.Empty.Add(AimDiagnostics.MoveToProperty, Name(moveTo))
            : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(rule, location, moveTarget is null ? null : new[] { moveTarget }, properties, args));
    }

    /// <summary>Where a member is declared, when that is a method declaration in this compilation (a code fix can edit it).</summary>
    internal static Location? DeclarationLocation(IMethodSymbol member, Compilation compilation)
    {
        foreach (SyntaxReference reference in member.OriginalDefinition.DeclaringSyntaxReferences)
        {
            if (compilation.ContainsSyntaxTree(reference.SyntaxTree) && reference.GetSyntax() is MethodDeclarationSyntax declaration)
            {
                return declaration.Identifier.GetLocation();
            }
        }

        return null;
    }

    private static Location? AttributeLocation(AttributeData attribute, CancellationToken cancellationToken) =>
        attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken).GetLocation();

    private static string Name(ISymbol symbol) => symbol.OriginalDefinition.ToDisplayString(Display);

    /// <summary>The attribute values that differ, for the message: <c>Capability "a:b" vs "c:d"</c>.</summary>
    private static string Differences(ActionModel mine, ActionModel theirs)
    {
        var parts = new List<string>();
        void Compare(string name, object? a, object? b)
        {
            if (!Equals(a, b))
            {
                parts.Add(name + " " + Show(a) + " vs " + Show(b));
            }
        }

        Compare("Capability", mine.Capability, theirs.Capability);
        Compare("Resource", mine.Resource, theirs.Resource);
        Compare("RiskLevel", (Risk)mine.DeclaredRisk, (Risk)theirs.DeclaredRisk);
        Compare("JitAccess", mine.JitAccess, theirs.JitAccess);
        Compare("JitTimeoutSeconds", mine.JitTimeoutSeconds, theirs.JitTimeoutSeconds);
        Compare("LogArguments", mine.LogArguments, theirs.LogArguments);
        Compare("LogResult", mine.LogResult, theirs.LogResult);
        Compare("Description", mine.Description, theirs.Description);
        Compare("CostUsd", mine.CostUsd, theirs.CostUsd);
        return string.Join(", ", parts);
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
