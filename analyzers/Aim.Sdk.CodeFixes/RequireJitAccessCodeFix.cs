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

namespace Aim.Sdk.CodeFixes;

/// <summary>AIM004: adds (or sets) <c>JitAccess = true</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RequireJitAccessCodeFix)), Shared]
public sealed class RequireJitAccessCodeFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(AimDiagnostics.CriticalWithoutJit.Id);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            AttributeSyntax? attribute = root is null ? null : AttributeEdits.FindAttribute(root, diagnostic.Location.SourceSpan);
            if (attribute is null)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create("Require JIT approval (JitAccess = true)", ct => ApplyAsync(context.Document, attribute, ct), nameof(RequireJitAccessCodeFix)),
                diagnostic);
        }
    }

    private static async Task<Document> ApplyAsync(Document document, AttributeSyntax attribute, CancellationToken cancellationToken)
    {
        SyntaxNode root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var value = SyntaxFactory.LiteralExpression(SyntaxKind.TrueLiteralExpression);
        return document.WithSyntaxRoot(root.ReplaceNode(attribute, AttributeEdits.SetNamedArgument(attribute, "JitAccess", value)));
    }
}
