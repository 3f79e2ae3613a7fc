using System;
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
using Microsoft.CodeAnalysis.Text;

namespace Aim.Sdk.CodeFixes;

/// <summary>
/// AIM003: adds the capability to the agent's grants: to <c>[assembly: AgentCapabilities(...)]</c>
/// when the project has one, otherwise to the <c>grants</c>/<c>capabilities</c> array of <c>aim.json</c>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddGrantCodeFix)), Shared]
public sealed class AddGrantCodeFix : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(AimDiagnostics.CapabilityNotGranted.Id);

    /// <inheritdoc />
    public override FixAllProvider? GetFixAllProvider() => null; // each fix edits a shared file; apply one at a time

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(AimDiagnostics.CapabilityProperty, out string? capability) || capability is null)
            {
                continue;
            }

            Project project = context.Document.Project;
            (Document Document, AttributeSyntax Attribute)? attribute = await FindGrantAttributeAsync(project, context.CancellationToken).ConfigureAwait(false);
            if (attribute is { } found)
            {
                context.RegisterCodeFix(
                    CodeAction.Create("Grant '" + capability + "' in [assembly: AgentCapabilities]", ct => AddToAttributeAsync(found.Document, found.Attribute, capability, ct), nameof(AddGrantCodeFix)),
                    diagnostic);
                continue;
            }

            TextDocument? json = project.AdditionalDocuments.FirstOrDefault(d => string.Equals(System.IO.Path.GetFileName(d.FilePath ?? d.Name), "aim.json", StringComparison.OrdinalIgnoreCase));
            if (json is not null)
            {
                context.RegisterCodeFix(
                    CodeAction.Create("Grant '" + capability + "' in aim.json", ct => AddToJsonAsync(json, capability, ct), nameof(AddGrantCodeFix) + ".json"),
                    diagnostic);
            }
        }
    }

    private static async Task<(Document, AttributeSyntax)?> FindGrantAttributeAsync(Project project, CancellationToken cancellationToken)
    {
        foreach (Document document in project.Documents)
        {
            if (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false) is not CompilationUnitSyntax root)
            {
                continue;
            }

            foreach (AttributeListSyntax list in root.AttributeLists)
            {
                if (!list.Target?.Identifier.IsKind(SyntaxKind.AssemblyKeyword) ?? true)
                {
                    continue;
                }

                foreach (AttributeSyntax attribute in list.Attributes)
                {
                    string name = attribute.Name.ToString();
                    if (name.EndsWith("AgentCapabilities", StringComparison.Ordinal) || name.EndsWith("AgentCapabilitiesAttribute", StringComparison.Ordinal))
                    {
                        return (document, attribute);
                    }
                }
            }
        }

        return null;
    }

    private static async Task<Solution> AddToAttributeAsync(Document document, AttributeSyntax attribute, string capability, CancellationToken cancellationToken)
    {
        SyntaxNode root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        AttributeArgumentSyntax argument = SyntaxFactory.AttributeArgument(
            SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(capability)));
        AttributeArgumentListSyntax list = attribute.ArgumentList ?? SyntaxFactory.AttributeArgumentList();
        AttributeSyntax updated = attribute.WithArgumentList(list.AddArguments(argument));
        return document.WithSyntaxRoot(root.ReplaceNode(attribute, updated)).Project.Solution;
    }

    private static async Task<Solution> AddToJsonAsync(TextDocument json, string capability, CancellationToken cancellationToken)
    {
        SourceText text = await json.GetTextAsync(cancellationToken).ConfigureAwait(false);
        string content = text.ToString();
        string entry = "\"" + capability + "\"";
        int key = IndexOfKey(content, "grants");
        if (key < 0)
        {
            key = IndexOfKey(content, "capabilities");
        }

        string updated;
        if (key >= 0 && content.IndexOf('[', key) is int open && open >= 0)
        {
            int next = open + 1;
            while (next < content.Length && char.IsWhiteSpace(content[next]))
            {
                next++;
            }

            bool empty = next < content.Length && content[next] == ']';
            updated = content.Insert(open + 1, empty ? entry : entry + ", ");
        }
        else
        {
            int brace = content.IndexOf('{');
            updated = brace < 0
                ? "{ \"grants\": [" + entry + "] }\n"
                : content.Insert(brace + 1, " \"grants\": [" + entry + "]" + (content.Substring(brace + 1).Trim().StartsWith("}", StringComparison.Ordinal) ? " " : ","));
        }

        return json.Project.Solution.WithAdditionalDocumentText(json.Id, SourceText.From(updated, text.Encoding));
    }

    private static int IndexOfKey(string content, string key) => content.IndexOf("\"" + key + "\"", StringComparison.Ordinal);
}
