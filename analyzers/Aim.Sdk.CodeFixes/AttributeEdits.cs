using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Aim.Sdk.CodeFixes;

/// <summary>Small syntax edits on <c>[SecureAction(...)]</c> attributes shared by the fixes.</summary>
internal static class AttributeEdits
{
    /// <summary>Sets <c>Name = value</c> on the attribute: replaces the existing value or appends the argument.</summary>
    public static AttributeSyntax SetNamedArgument(AttributeSyntax attribute, string name, ExpressionSyntax value)
    {
        AttributeArgumentSyntax? existing = attribute.ArgumentList?.Arguments
            .FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name);
        if (existing is not null)
        {
            return attribute.ReplaceNode(existing.Expression, value.WithTriviaFrom(existing.Expression));
        }

        AttributeArgumentSyntax argument = SyntaxFactory.AttributeArgument(
            SyntaxFactory.NameEquals(SyntaxFactory.IdentifierName(name)), null, value);
        AttributeArgumentListSyntax list = attribute.ArgumentList ?? SyntaxFactory.AttributeArgumentList();
        return attribute.WithArgumentList(list.AddArguments(argument));
    }

    /// <summary>
    /// The member without <paramref name="attribute"/>: the whole <c>[...]</c> list when it held only this attribute, with the
    /// list's leading trivia (indentation, doc comments) handed to what now starts the member, so no blank line is left.
    /// </summary>
    public static SyntaxNode WithoutAttribute(SyntaxNode member, AttributeSyntax attribute)
    {
        var list = (AttributeListSyntax)attribute.Parent!;
        if (list.Attributes.Count > 1)
        {
            return member.RemoveNode(attribute, SyntaxRemoveOptions.KeepNoTrivia)!;
        }

        bool first = member.GetFirstToken() == list.OpenBracketToken;
        SyntaxNode result = member.RemoveNode(list, SyntaxRemoveOptions.KeepNoTrivia)!;
        return first ? result.WithLeadingTrivia(list.GetLeadingTrivia()) : result;
    }

    public static AttributeSyntax? FindAttribute(SyntaxNode root, Microsoft.CodeAnalysis.Text.TextSpan span) =>
        root.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf().OfType<AttributeSyntax>().FirstOrDefault();
}
