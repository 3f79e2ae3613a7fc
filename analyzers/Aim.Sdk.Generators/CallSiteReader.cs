using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Aim.Sdk.Generators;

/// <summary>Turns an invocation into a <see cref="CallSiteModel"/> when it calls a <c>[SecureAction]</c> method that can be intercepted.</summary>
internal static class CallSiteReader
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IMethodSymbol, InterceptorModel> Interceptors = new();

    /// <summary>Cheap syntax filter: method calls by name, member access or null-conditional member binding.</summary>
    public static bool IsCandidate(SyntaxNode node) =>
        node is InvocationExpressionSyntax
        {
            Expression: MemberAccessExpressionSyntax or IdentifierNameSyntax or GenericNameSyntax or MemberBindingExpressionSyntax,
        };

    public static CallSiteModel? Read(GeneratorSyntaxContext context, CancellationToken cancellationToken)
    {
        string fingerprint = DeclarationFingerprint.Of(context.SemanticModel.Compilation, cancellationToken);
        if (CallSiteCache.TryGet(context.Node, fingerprint, out CallSiteModel? cached))
        {
            return cached;
        }

        CallSiteModel? model = Bind(context, cancellationToken);
        CallSiteCache.Set(context.Node, fingerprint, model);
        return model;
    }

    private static CallSiteModel? Bind(GeneratorSyntaxContext context, CancellationToken cancellationToken)
    {
        var invocation = (InvocationExpressionSyntax)context.Node;
        if (context.SemanticModel.GetOperation(invocation, cancellationToken) is not IInvocationOperation operation)
        {
            return null;
        }

        IMethodSymbol target = operation.TargetMethod;
        AttributeData? attribute = SecureActionSymbols.FindAttribute(target, out IMethodSymbol declaring);
        if (attribute is null || UnguardedReason(operation, invocation, context.SemanticModel, cancellationToken) is not null)
        {
            return null;
        }

        IMethodSymbol called = (target.ReducedFrom ?? target).OriginalDefinition;
        var location = context.SemanticModel.GetInterceptableLocation(invocation, cancellationToken);
        if (UninterceptableCallReason(operation, context.SemanticModel.Compilation, declaring, location is not null) is not null
            || SecureActionSymbols.UninterceptableReason(declaring) is not null)
        {
            return null;
        }

        // One model per called method per compilation (symbols are per compilation): many call sites share it.
        InterceptorModel interceptor = Interceptors.GetValue(called, _ =>
        {
            bool declaredHere = SymbolEqualityComparer.Default.Equals(declaring.ContainingAssembly, context.SemanticModel.Compilation.Assembly);
            return SecureActionSymbols.ReadInterceptor(called, SecureActionSymbols.ReadAction(attribute, declaring), declaredHere);
        });
        return new CallSiteModel(interceptor, location!.Version, location.Data, location.GetDisplayLocation());
    }

    /// <summary>
    /// Why a call of a secured method cannot be intercepted at this site (reported by AIM005), or null.
    /// Shared by the generator and the analyzer so both agree on what stays unguarded.
    /// </summary>
    public static string? UnguardedReason(IInvocationOperation operation, InvocationExpressionSyntax invocation, SemanticModel model, CancellationToken cancellationToken)
    {
        if (invocation.Expression is MemberAccessExpressionSyntax { Expression: BaseExpressionSyntax })
        {
            return "a base call is non-virtual and cannot be forwarded by an interceptor";
        }

        if (IsInExpressionTree(invocation, model, cancellationToken))
        {
            return "a call inside an expression tree is not compiled as a call";
        }

        return null;
    }

    /// <summary>
    /// Why an ordinary call of a secured method cannot be intercepted even though its action can be enforced (AIM009,
    /// an error), or null. Null too when the declaring member itself cannot be enforced and is declared in this
    /// compilation: AIM006 fails the build at the declaration. Shared by the generator and the analyzer.
    /// </summary>
    public static string? UninterceptableCallReason(IInvocationOperation operation, Compilation compilation, IMethodSymbol declaring, bool hasInterceptableLocation)
    {
        IMethodSymbol called = (operation.TargetMethod.ReducedFrom ?? operation.TargetMethod).OriginalDefinition;
        string? declared = SecureActionSymbols.UninterceptableReason(declaring);
        if (declared is not null)
        {
            bool reportedAtDeclaration = SymbolEqualityComparer.Default.Equals(declaring.ContainingAssembly, compilation.Assembly);
            return reportedAtDeclaration ? null : "its declaration '" + declaring.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat) + "' cannot be enforced (" + declared + ")";
        }

        if (!SymbolEqualityComparer.Default.Equals(called, declaring) && SecureActionSymbols.UninterceptableReason(called) is { } reason)
        {
            return "'" + called.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat) + "' cannot be intercepted (" + reason + ")"
                + (called.ContainingType.IsRefLikeType ? string.Empty : "; call it through '" + declaring.ContainingType.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat) + "'");
        }

        // A type parameter that allows ref structs cannot be boxed to the interface or base type the interceptor takes.
        if (operation.Instance?.Type is ITypeParameterSymbol { AllowsRefLikeType: true })
        {
            return "a receiver whose type parameter allows ref structs cannot be passed to an interceptor";
        }

        return hasInterceptableLocation ? null : "the compiler reports no interceptable location for it";
    }

    /// <summary>True when the node sits inside a lambda converted to <c>System.Linq.Expressions.Expression&lt;T&gt;</c>.</summary>
    public static bool IsInExpressionTree(SyntaxNode node, SemanticModel model, CancellationToken cancellationToken)
    {
        for (SyntaxNode? current = node.Parent; current is not null; current = current.Parent)
        {
            if (current is LambdaExpressionSyntax or AnonymousMethodExpressionSyntax)
            {
                ITypeSymbol? converted = model.GetTypeInfo(current, cancellationToken).ConvertedType;
                if (converted is INamedTypeSymbol { Name: "Expression", IsGenericType: true } named
                    && named.ContainingNamespace?.ToDisplayString() == "System.Linq.Expressions")
                {
                    return true;
                }
            }
            else if (current is MemberDeclarationSyntax)
            {
                return false;
            }
        }

        return false;
    }
}
