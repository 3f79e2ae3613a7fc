using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Aim.Sdk.Generators;

/// <summary>
/// AIM005: a <c>[SecureAction]</c> method used where no interceptor applies (method group, delegate,
/// function pointer, expression tree, base call, type-parameter receiver, <c>Type.GetMethod("...")</c>),
/// so that path would run without authorization or audit.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnguardedUseAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(AimDiagnostics.UnguardedUse);

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

            start.RegisterOperationAction(AnalyzeMethodReference, OperationKind.MethodReference);
            start.RegisterOperationAction(AnalyzeInvocation, OperationKind.Invocation);
        });
    }

    private static void AnalyzeMethodReference(OperationAnalysisContext context)
    {
        var reference = (IMethodReferenceOperation)context.Operation;
        if (SecureActionSymbols.FindAttribute(reference.Method, out _) is not null)
        {
            string how = reference.Parent is IDelegateCreationOperation ? "method group converted to a delegate" : "method reference";
            context.ReportDiagnostic(Diagnostic.Create(AimDiagnostics.UnguardedUse, reference.Syntax.GetLocation(), reference.Method.Name, how));
        }
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (invocation.Syntax is not InvocationExpressionSyntax syntax)
        {
            return;
        }

        if (SecureActionSymbols.FindAttribute(invocation.TargetMethod, out _) is not null)
        {
            string? reason = CallSiteReader.UnguardedReason(invocation, syntax, invocation.SemanticModel!, context.CancellationToken);
            if (reason is not null)
            {
                context.ReportDiagnostic(Diagnostic.Create(AimDiagnostics.UnguardedUse, syntax.GetLocation(), invocation.TargetMethod.Name, reason));
            }

            return;
        }

        // Reflection: typeof(T).GetMethod("Name", ...) where T has a secured method of that name.
        if (invocation.TargetMethod is { Name: "GetMethod" or "GetMember", ContainingType: { Name: "Type", ContainingNamespace.Name: "System" } }
            && invocation.Instance is ITypeOfOperation { TypeOperand: INamedTypeSymbol type }
            && invocation.Arguments.Length > 0
            && invocation.Arguments[0].Value.ConstantValue is { HasValue: true, Value: string name })
        {
            foreach (ISymbol member in type.GetMembers(name))
            {
                if (member is IMethodSymbol method && SecureActionSymbols.FindAttribute(method, out _) is not null)
                {
                    context.ReportDiagnostic(Diagnostic.Create(AimDiagnostics.UnguardedUse, syntax.GetLocation(), name, "reflection invokes the method directly"));
                    return;
                }
            }
        }
    }
}
