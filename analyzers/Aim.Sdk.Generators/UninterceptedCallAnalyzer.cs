using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Aim.Sdk.Generators;

/// <summary>
/// AIM009: an ordinary call of a secured method that the generator cannot intercept (for example a direct call on an
/// implementation that generated code cannot name), so the call would run its body without authorization or audit.
/// Uses the generator's own rule (<see cref="CallSiteReader.UninterceptableCallReason"/>), so exactly the calls the
/// generator leaves alone fail the build.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UninterceptedCallAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(AimDiagnostics.UninterceptableCall);

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

            start.RegisterOperationAction(AnalyzeInvocation, OperationKind.Invocation);
        });
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (invocation.Syntax is not InvocationExpressionSyntax syntax
            || SecureActionSymbols.FindAttribute(invocation.TargetMethod, out IMethodSymbol declaring) is null)
        {
            return;
        }

        SemanticModel model = invocation.SemanticModel!;
        if (CallSiteReader.UnguardedReason(invocation, syntax, model, context.CancellationToken) is not null)
        {
            return; // AIM005
        }

        bool hasLocation = model.GetInterceptableLocation(syntax, context.CancellationToken) is not null;
        string? reason = CallSiteReader.UninterceptableCallReason(invocation, context.Compilation, declaring, hasLocation);
        if (reason is not null)
        {
            context.ReportDiagnostic(Diagnostic.Create(
                AimDiagnostics.UninterceptableCall, syntax.GetLocation(), invocation.TargetMethod.Name,
                declaring.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat), reason));
        }
    }
}
