using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Aim.Sdk.Generators;

/// <summary>
/// Intercepts every call of a secured method in the compilation (one carrying <c>[SecureAction]</c>, or overriding or
/// implementing a member that does: calls through interfaces, base members, type parameters) and routes it through
/// <c>Aim.AimRuntime</c>; emits the reflection-free action catalog and the <c>Aim.Capabilities</c>
/// manifest. Reports no diagnostics itself: the AIM analyzers do.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class SecureActionGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline steps (tests assert they stay cached after unrelated edits).</summary>
    public static class Steps
    {
        /// <summary>Secured methods declared in the compilation.</summary>
        public const string Targets = "AimTargets";

        /// <summary>Calls of secured methods that will be intercepted.</summary>
        public const string CallSites = "AimCallSites";

        /// <summary>Facts about the compilation (runtime present, assembly name).</summary>
        public const string Facts = "AimCompilationFacts";

        /// <summary>All targets, collected.</summary>
        public const string CollectedTargets = "AimCollectedTargets";

        /// <summary>All call sites, collected.</summary>
        public const string CollectedCallSites = "AimCollectedCallSites";
    }

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValueProvider<CompilationFacts> facts = context.CompilationProvider
            .Select(static (compilation, _) => new CompilationFacts(
                compilation.GetTypeByMetadataName("Aim.AimRuntime") is not null
                    && compilation.GetTypeByMetadataName("Aim.ActionDescriptor") is not null,
                compilation.GetTypeByMetadataName("System.Runtime.CompilerServices.ModuleInitializerAttribute") is not null,
                compilation.AssemblyName ?? string.Empty))
            .WithTrackingName(Steps.Facts);

        IncrementalValuesProvider<TargetModel> targets = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                SecureActionSymbols.AttributeMetadataName,
                static (node, _) => node is MethodDeclarationSyntax,
                static (ctx, _) =>
                {
                    var method = (IMethodSymbol)ctx.TargetSymbol;
                    return new TargetModel(
                        SecureActionSymbols.ReadAction(ctx.Attributes[0], method),
                        SecureActionSymbols.UninterceptableReason(method) is null,
                        SecureActionSymbols.DeclaresAction(method));
                })
            .WithTrackingName(Steps.Targets);

        IncrementalValuesProvider<CallSiteModel> callSites = context.SyntaxProvider
            .CreateSyntaxProvider(static (node, _) => CallSiteReader.IsCandidate(node), CallSiteReader.Read)
            .Where(static site => site is not null)
            .Select(static (site, _) => site!)
            .WithTrackingName(Steps.CallSites);

        var catalogInput = targets.Collect().WithTrackingName(Steps.CollectedTargets).Combine(facts);
        context.RegisterSourceOutput(catalogInput, static (spc, input) =>
        {
            (ImmutableArray<TargetModel> all, CompilationFacts f) = input;
            var actions = CatalogEmitter.Actions(all);
            if (!f.HasRuntime || actions.Count == 0)
            {
                return;
            }

            spc.AddSource("AimActionCatalog.g.cs", CatalogEmitter.Emit(f.AssemblyName, f.HasModuleInitializer, actions));
        });

        var interceptorInput = callSites.Collect().WithTrackingName(Steps.CollectedCallSites).Combine(facts);
        context.RegisterSourceOutput(interceptorInput, static (spc, input) =>
        {
            (ImmutableArray<CallSiteModel> sites, CompilationFacts f) = input;
            if (!f.HasRuntime || sites.IsEmpty)
            {
                return;
            }

            spc.AddSource("AimInterceptors.g.cs", InterceptorEmitter.Emit(sites));
        });
    }
}

/// <summary>What the generator needs to know about the compilation as a whole.</summary>
internal sealed record CompilationFacts(bool HasRuntime, bool HasModuleInitializer, string AssemblyName);
