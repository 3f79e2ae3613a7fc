using System;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Aim.Sdk.Generators;

/// <summary>
/// A digest of everything in a compilation that can change what a call binds to: every tree's tokens
/// outside member bodies, the references, the options. Roslyn re-runs a syntax provider's transform for
/// every node on every edit; when this digest is unchanged, a call site in an unchanged tree binds
/// exactly as before, so its model is reused instead of binding again (edits inside method bodies,
/// the common case while typing, keep the digest).
/// </summary>
internal static class DeclarationFingerprint
{
    private static readonly ConditionalWeakTable<Compilation, string> ByCompilation = new();
    private static readonly ConditionalWeakTable<SyntaxTree, byte[]> ByTree = new();
    private static readonly ConditionalWeakTable<MetadataReference, string> ReferenceIds = new();
    private static long nextReferenceId;

    public static string Of(Compilation compilation, CancellationToken cancellationToken) =>
        ByCompilation.GetValue(compilation, c => Compute(c, cancellationToken));

    private static string Compute(Compilation compilation, CancellationToken cancellationToken)
    {
        using var sha = SHA256.Create();
        var sb = new StringBuilder();
        // Explicit option values, never Options.GetHashCode(): the command-line compiler's resolvers
        // inside the options throw NotImplementedException from GetHashCode.
        CompilationOptions options = compilation.Options;
        sb.Append(compilation.AssemblyName).Append('|').Append(options.OutputKind).Append('|').Append(options.NullableContextOptions)
            .Append('|').Append(options.Platform).Append('|').Append(options.CheckOverflow).Append('|');
        foreach (MetadataReference reference in compilation.References)
        {
            // Identity, not path: a rebuilt dependency arrives as a new reference object.
            sb.Append(ReferenceIds.GetValue(reference, _ => Interlocked.Increment(ref nextReferenceId).ToString(System.Globalization.CultureInfo.InvariantCulture))).Append(',');
        }

        foreach (SyntaxTree tree in compilation.SyntaxTrees)
        {
            byte[] digest = ByTree.GetValue(tree, t => DigestOutsideBodies(t, cancellationToken));
            sb.Append('|').Append(tree.FilePath).Append(':').Append(Convert.ToBase64String(digest));
            if (tree.Options is CSharpParseOptions parse)
            {
                sb.Append(':').Append(parse.LanguageVersion).Append(':').Append(string.Join(";", parse.PreprocessorSymbolNames));
            }
        }

        return Convert.ToBase64String(sha.ComputeHash(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static byte[] DigestOutsideBodies(SyntaxTree tree, CancellationToken cancellationToken)
    {
        using var sha = SHA256.Create();
        var sb = new StringBuilder();
        SyntaxNode root = tree.GetRoot(cancellationToken);

        // Blocks and expression bodies never declare anything visible outside them.
        foreach (SyntaxNodeOrToken item in root.DescendantNodesAndTokens(n => n is not (BlockSyntax or ArrowExpressionClauseSyntax)))
        {
            if (item.IsToken)
            {
                sb.Append((int)item.AsToken().RawKind).Append(' ').Append(item.AsToken().Text).Append('\u0001');
            }
            else if (item.AsNode() is BlockSyntax or ArrowExpressionClauseSyntax)
            {
                sb.Append("{}\u0001");
            }
        }

        return sha.ComputeHash(Encoding.UTF8.GetBytes(sb.ToString()));
    }
}

/// <summary>Per call site: the model last computed and the fingerprint it was computed under.</summary>
internal static class CallSiteCache
{
    private sealed class Entry
    {
        public Entry(string fingerprint, CallSiteModel? model)
        {
            Fingerprint = fingerprint;
            Model = model;
        }

        public string Fingerprint { get; }

        public CallSiteModel? Model { get; }
    }

    private sealed class Box
    {
        public Entry? Value;
    }

    private static readonly ConditionalWeakTable<SyntaxNode, Box> Table = new();

    public static bool TryGet(SyntaxNode node, string fingerprint, out CallSiteModel? model)
    {
        if (Table.TryGetValue(node, out Box? box) && Volatile.Read(ref box.Value) is { } entry && entry.Fingerprint == fingerprint)
        {
            model = entry.Model;
            return true;
        }

        model = null;
        return false;
    }

    public static void Set(SyntaxNode node, string fingerprint, CallSiteModel? model) =>
        Volatile.Write(ref Table.GetValue(node, _ => new Box()).Value, new Entry(fingerprint, model));
}
