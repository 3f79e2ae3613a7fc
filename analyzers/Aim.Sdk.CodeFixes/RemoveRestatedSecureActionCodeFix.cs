using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Aim.Sdk.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Aim.Sdk.CodeFixes;

/// <summary>
/// AIM008: removes the implementation's or override's own <c>[SecureAction]</c>, so the declaration on the interface or
/// base member applies (the member inherits it). Changing the interface or base member instead is a decision for a person.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveRestatedSecureActionCodeFix)), Shared]
public sealed class RemoveRestatedSecureActionCodeFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(AimDiagnostics.ConflictingDeclaration.Id);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            // Only when the diagnostic sits on an attribute written on the member (not on a type inheriting the conflict).
            if (root is null || AttributeEdits.FindAttribute(root, diagnostic.Location.SourceSpan) is not { } attribute)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Remove this [SecureAction] (the interface or base member's declaration applies)",
                    ct => RemoveAsync(context.Document, attribute, ct),
                    equivalenceKey: nameof(RemoveRestatedSecureActionCodeFix)),
                diagnostic);
        }
    }

    private static async Task<Document> RemoveAsync(Document document, AttributeSyntax attribute, CancellationToken cancellationToken)
    {
        SyntaxNode root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        SyntaxNode owner = attribute.Parent!.Parent!;
        SyntaxNode updated = root.ReplaceNode(owner, AttributeEdits.WithoutAttribute(owner, attribute));
        return document.WithSyntaxRoot(updated);
    }
}
