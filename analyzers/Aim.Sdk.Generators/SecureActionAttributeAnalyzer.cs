using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Aim.Sdk.Generators;

/// <summary>
/// Checks each <c>[SecureAction]</c> attribute: capability syntax (AIM001), declared versus detected
/// risk (AIM002), declared grants (AIM003), critical without JIT (AIM004), and whether the member
/// can be intercepted at all (AIM006).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class SecureActionAttributeAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        AimDiagnostics.MalformedCapability,
        AimDiagnostics.RiskUnderstated,
        AimDiagnostics.CapabilityNotGranted,
        AimDiagnostics.CriticalWithoutJit,
        AimDiagnostics.CannotIntercept);

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

            Grants? grants = Grants.Read(start.Compilation, start.Options.AdditionalFiles, start.CancellationToken);
            start.RegisterSyntaxNodeAction(ctx => AnalyzeAttribute(ctx, grants), SyntaxKind.Attribute);
        });
    }

    private static void AnalyzeAttribute(SyntaxNodeAnalysisContext context, Grants? grants)
    {
        var syntax = (AttributeSyntax)context.Node;
        string name = syntax.Name is QualifiedNameSyntax q ? q.Right.Identifier.ValueText
            : syntax.Name is AliasQualifiedNameSyntax a ? a.Name.Identifier.ValueText
            : syntax.Name.ToString();
        if (name != "SecureAction" && name != "SecureActionAttribute")
        {
            return;
        }

        if (syntax.Parent is not AttributeListSyntax list || list.Target is not null && !list.Target.Identifier.IsKind(SyntaxKind.MethodKeyword))
        {
            return;
        }

        IMethodSymbol? method = list.Parent switch
        {
            AnonymousFunctionExpressionSyntax lambda => context.SemanticModel.GetSymbolInfo(lambda, context.CancellationToken).Symbol as IMethodSymbol,
            SyntaxNode declaration => context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken) as IMethodSymbol,
            _ => null,
        };
        if (method is null)
        {
            return;
        }

        AttributeData? attribute = method.GetAttributes().FirstOrDefault(d =>
            SecureActionSymbols.IsSecureAction(d) && d.ApplicationSyntaxReference?.Span == syntax.Span);
        if (attribute is null)
        {
            return;
        }

        string? reason = SecureActionSymbols.UninterceptableReason(method);
        Location? moveTarget = null;
        IMethodSymbol? moveTo = null;
        if (reason is not null && method.MethodKind == MethodKind.ExplicitInterfaceImplementation)
        {
            // Restating the interface member's [SecureAction] is fine: calls go through the interface and are intercepted there.
            moveTo = method.ExplicitInterfaceImplementations.FirstOrDefault(m => SecureActionSymbols.OwnAttribute(m) is null);
            reason = moveTo is null ? null : reason;
            moveTarget = moveTo is null ? null : SecuredDeclarationsAnalyzer.DeclarationLocation(moveTo, context.SemanticModel.Compilation);
        }

        if (reason is not null)
        {
            ImmutableDictionary<string, string?> properties = moveTarget is not null
                ? ImmutableDictionary<string, string?>.Empty.Add(AimDiagnostics.MoveToProperty, moveTo!.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat))
                : ImmutableDictionary<string, string?>.Empty;
            context.ReportDiagnostic(Diagnostic.Create(
                AimDiagnostics.CannotIntercept, syntax.Name.GetLocation(), moveTarget is null ? null : new[] { moveTarget }, properties, method.Name, reason));
        }

        ActionModel action = SecureActionSymbols.ReadAction(attribute, method);
        Location capabilityLocation = syntax.ArgumentList?.Arguments.FirstOrDefault(arg => arg.NameEquals is null)?.GetLocation() ?? syntax.GetLocation();
        if (!action.CapabilityValid)
        {
            context.ReportDiagnostic(Diagnostic.Create(AimDiagnostics.MalformedCapability, capabilityLocation, action.Capability));
            return;
        }

        if (action.DeclaredRisk != 0 && action.DeclaredRisk < action.DetectedRisk)
        {
            Location riskLocation = NamedArgument(syntax, "RiskLevel")?.Expression.GetLocation() ?? syntax.GetLocation();
            var properties = ImmutableDictionary<string, string?>.Empty.Add(AimDiagnostics.DetectedRiskProperty, ((Risk)action.DetectedRisk).ToString());
            context.ReportDiagnostic(Diagnostic.Create(
                AimDiagnostics.RiskUnderstated, riskLocation, properties,
                action.Capability, ((Risk)action.DeclaredRisk).ToString(), ((Risk)action.DetectedRisk).ToString()));
        }

        if (action.EffectiveRisk == (int)Risk.Critical && !action.JitAccess)
        {
            context.ReportDiagnostic(Diagnostic.Create(AimDiagnostics.CriticalWithoutJit, syntax.Name.GetLocation(), action.Capability));
        }

        if (grants is not null && !grants.Covers(action.Capability))
        {
            var properties = ImmutableDictionary<string, string?>.Empty.Add(AimDiagnostics.CapabilityProperty, action.Capability);
            context.ReportDiagnostic(Diagnostic.Create(AimDiagnostics.CapabilityNotGranted, capabilityLocation, properties, action.Capability, grants.Source));
        }
    }

    /// <summary>The <c>Name = value</c> argument of an attribute, if present.</summary>
    internal static AttributeArgumentSyntax? NamedArgument(AttributeSyntax attribute, string name) =>
        attribute.ArgumentList?.Arguments.FirstOrDefault(arg => arg.NameEquals?.Name.Identifier.ValueText == name);
}
