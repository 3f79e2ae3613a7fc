using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Aim.Sdk.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Simplification;

namespace Aim.Sdk.CodeFixes;

/// <summary>AIM002: sets <c>RiskLevel</c> to the detected level.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SetDetectedRiskCodeFix)), Shared]
public sealed class SetDetectedRiskCodeFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(AimDiagnostics.RiskUnderstated.Id);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            if (root is null || !diagnostic.Properties.TryGetValue(AimDiagnostics.DetectedRiskProperty, out string? level) || level is null)
            {
                continue;
            }

            AttributeSyntax? attribute = AttributeEdits.FindAttribute(root, diagnostic.Location.SourceSpan);
            if (attribute is null)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Set RiskLevel to the detected level (" + level + ")",
                    ct => ApplyAsync(context.Document, attribute, level, ct),
                    equivalenceKey: nameof(SetDetectedRiskCodeFix)),
                diagnostic);
        }
    }

    private static async Task<Document> ApplyAsync(Document document, AttributeSyntax attribute, string level, CancellationToken cancellationToken)
    {
        SyntaxNode root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        ExpressionSyntax value = SyntaxFactory.ParseExpression("global::Aim.RiskLevel." + level)
            .WithAdditionalAnnotations(Simplifier.Annotation);
        return document.WithSyntaxRoot(root.ReplaceNode(attribute, AttributeEdits.SetNamedArgument(attribute, "RiskLevel", value)));
    }
}
