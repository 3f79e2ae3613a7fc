using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Aim.Sdk.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Formatting;

namespace Aim.Sdk.CodeFixes;

/// <summary>
/// AIM007 and AIM006 (explicit interface implementation): moves <c>[SecureAction]</c>, with all its arguments, from the
/// implementation or override to the interface or base member it implements or overrides, so calls through that member
/// are guarded too (the implementation inherits the action). Offered when that member is declared in the same project
/// (the diagnostic's additional location).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MoveSecureActionCodeFix)), Shared]
public sealed class MoveSecureActionCodeFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        AimDiagnostics.UnsecuredDeclaration.Id,
        AimDiagnostics.CannotIntercept.Id);

    /// <inheritdoc />
    public override FixAllProvider? GetFixAllProvider() => null; // each fix edits two declarations; apply one at a time

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            if (root is null || !diagnostic.Properties.TryGetValue(AimDiagnostics.MoveToProperty, out string? target) || target is null
                || diagnostic.AdditionalLocations.Count == 0 || diagnostic.AdditionalLocations[0].SourceTree is not { } targetTree
                || AttributeEdits.FindAttribute(root, diagnostic.Location.SourceSpan) is not { } attribute)
            {
                continue;
            }

            Document? targetDocument = context.Document.Project.Solution.GetDocument(targetTree);
            if (targetDocument is null)
            {
                continue;
            }

            Microsoft.CodeAnalysis.Text.TextSpan targetSpan = diagnostic.AdditionalLocations[0].SourceSpan;
            context.RegisterCodeFix(
                CodeAction.Create(
                    "Move [SecureAction] to '" + target + "'",
                    ct => MoveAsync(context.Document, attribute, targetDocument.Id, targetSpan, ct),
                    equivalenceKey: nameof(MoveSecureActionCodeFix)),
                diagnostic);
        }
    }

    private static async Task<Solution> MoveAsync(Document document, AttributeSyntax attribute, DocumentId targetId, Microsoft.CodeAnalysis.Text.TextSpan targetSpan, CancellationToken cancellationToken)
    {
        Solution solution = document.Project.Solution;
        Document targetDocument = solution.GetDocument(targetId)!;
        SyntaxNode targetRoot = (await targetDocument.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        MethodDeclarationSyntax? declaration = targetRoot.FindToken(targetSpan.Start).Parent?.AncestorsAndSelf().OfType<MethodDeclarationSyntax>().FirstOrDefault();
        if (declaration is null)
        {
            return solution;
        }

        var editor = new SolutionEditor(solution);
        DocumentEditor source = await editor.GetDocumentEditorAsync(document.Id, cancellationToken).ConfigureAwait(false);
        DocumentEditor destination = await editor.GetDocumentEditorAsync(targetId, cancellationToken).ConfigureAwait(false);

        var list = (AttributeListSyntax)attribute.Parent!;
        AttributeListSyntax moved = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(attribute.WithoutTrivia()));
        destination.ReplaceNode(declaration, (node, _) =>
        {
            // [SecureAction(...)] on its own line, at the member's indentation, above what was there.
            var method = (MethodDeclarationSyntax)node;
            SyntaxTriviaList leading = method.GetLeadingTrivia();
            SyntaxTrivia indentation = leading.LastOrDefault(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
            SyntaxTrivia newLine = targetRoot.DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
            MethodDeclarationSyntax rest = method.WithLeadingTrivia(indentation.IsKind(SyntaxKind.WhitespaceTrivia) ? SyntaxFactory.TriviaList(indentation) : SyntaxFactory.TriviaList());
            return rest.WithAttributeLists(rest.AttributeLists.Insert(0, moved
                .WithLeadingTrivia(leading)
                .WithTrailingTrivia(newLine.IsKind(SyntaxKind.EndOfLineTrivia) ? newLine : SyntaxFactory.LineFeed)));
        });
        SyntaxNode owner = list.Parent!;
        source.ReplaceNode(owner, (node, _) => AttributeEdits.WithoutAttribute(
            node, node.DescendantNodes().OfType<AttributeSyntax>().First(a => a.IsEquivalentTo(attribute))));

        Solution changed = editor.GetChangedSolution();
        return await ImportAimAsync(changed.GetDocument(targetId)!, cancellationToken).ConfigureAwait(false);
    }

    // The attribute and its arguments (RiskLevel.High, ...) bind through namespace Aim: import it where it now sits, unless it already binds there.
    private static async Task<Solution> ImportAimAsync(Document document, CancellationToken cancellationToken)
    {
        SyntaxNode root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        SemanticModel model = (await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false))!;
        if (root is not CompilationUnitSyntax unit)
        {
            return document.Project.Solution;
        }

        AttributeSyntax? added = unit.DescendantNodes().OfType<AttributeSyntax>()
            .FirstOrDefault(a => a.Name.ToString() is "SecureAction" or "SecureActionAttribute"
                && model.GetSymbolInfo(a, cancellationToken).Symbol is null);
        if (added is null)
        {
            return document.Project.Solution;
        }

        UsingDirectiveSyntax directive = SyntaxFactory.UsingDirective(SyntaxFactory.IdentifierName("Aim")).WithAdditionalAnnotations(Formatter.Annotation);
        CompilationUnitSyntax updated = unit.AddUsings(directive);
        Document formatted = await Formatter.FormatAsync(document.WithSyntaxRoot(updated), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
        return formatted.Project.Solution;
    }
}
