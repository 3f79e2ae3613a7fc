using System.Collections.Immutable;
using Aim.Sdk.CodeFixes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Aim.Sdk.Generators.Tests;

/// <summary>The AIM007/AIM006 fix (move the attribute to the interface or base member) and the AIM008 fix (drop the restatement).</summary>
public sealed class DispatchCodeFixTests
{
    private static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers =
        [new SecureActionAttributeAnalyzer(), new UnguardedUseAnalyzer(), new SecuredDeclarationsAnalyzer(), new UninterceptedCallAnalyzer()];

    private static (Document Implementation, Document? Contract) Create(string implementation, string? contract = null)
    {
        var workspace = new AdhocWorkspace();
        var projectId = ProjectId.CreateNewId();
        workspace.AddProject(ProjectInfo.Create(
            projectId, VersionStamp.Create(), "Agent", "Agent", LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: Harness.ParseOptions,
            metadataReferences: Harness.References));
        Document impl = workspace.AddDocument(projectId, "Implementation.cs", SourceText.From(implementation));
        Document? other = contract is null ? null : workspace.AddDocument(projectId, "Contract.cs", SourceText.From(contract));
        Solution solution = workspace.CurrentSolution;
        return (solution.GetDocument(impl.Id)!, other is null ? null : solution.GetDocument(other.Id));
    }

    private static async Task<ImmutableArray<Diagnostic>> Diagnose(Project project)
    {
        Compilation compilation = (await project.GetCompilationAsync())!;
        return await compilation.WithAnalyzers(Analyzers, project.AnalyzerOptions).GetAnalyzerDiagnosticsAsync();
    }

    private static async Task<List<CodeAction>> Fixes(Document document, string id, CodeFixProvider provider)
    {
        Diagnostic diagnostic = (await Diagnose(document.Project)).First(d => d.Id == id);
        var actions = new List<CodeAction>();
        await provider.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None));
        return actions;
    }

    private static async Task<Solution> ApplyFix(Document document, string id, CodeFixProvider provider)
    {
        CodeAction fix = Assert.Single(await Fixes(document, id, provider));
        var operation = (await fix.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().Single();
        return operation.ChangedSolution;
    }

    private static async Task<string> TextOf(Solution solution, DocumentId id) => (await solution.GetDocument(id)!.GetTextAsync()).ToString();

    private static async Task AssertCleanBuild(Project project)
    {
        Compilation compilation = (await project.GetCompilationAsync())!;
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, Harness.Describe(errors));
        var remaining = (await Diagnose(project)).Where(d => d.Id is "AIM006" or "AIM007" or "AIM008" or "AIM009").ToList();
        Assert.True(remaining.Count == 0, Harness.Describe(remaining));
    }

    [Fact]
    public async Task AIM007_fix_moves_the_attribute_with_all_its_arguments_to_the_interface_member()
    {
        var (document, _) = Create("""
            using System.Threading.Tasks;
            using Aim;
            namespace Shop;
            public interface IRefundService
            {
                Task RefundAsync(string orderId, decimal amount);
            }
            public sealed class RefundService : IRefundService
            {
                [SecureAction("payment:refund", JitAccess = true, JitTimeoutSeconds = 60, Description = "Refunds an order")]
                public Task RefundAsync(string orderId, decimal amount) => Task.CompletedTask;
            }
            """);

        Solution fixedSolution = await ApplyFix(document, "AIM007", new MoveSecureActionCodeFix());

        string text = await TextOf(fixedSolution, document.Id);
        Assert.Contains("""
                [SecureAction("payment:refund", JitAccess = true, JitTimeoutSeconds = 60, Description = "Refunds an order")]
                Task RefundAsync(string orderId, decimal amount);
            """.Replace("\r", string.Empty, StringComparison.Ordinal), text.Replace("\r", string.Empty, StringComparison.Ordinal));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "SecureAction\\("));
        Assert.True(text.Replace("\r", string.Empty, StringComparison.Ordinal).Contains("public sealed class RefundService : IRefundService\n{\n    public Task RefundAsync", StringComparison.Ordinal), text);
        await AssertCleanBuild(fixedSolution.GetDocument(document.Id)!.Project);
    }

    [Fact]
    public async Task AIM007_fix_imports_Aim_where_the_interface_is_declared()
    {
        var (document, contract) = Create(
            """
            using Aim;
            namespace Shop;
            public sealed class Store : Contracts.IStore
            {
                [SecureAction("db:read", RiskLevel = RiskLevel.High)]
                public string Load(string key) => key;
            }
            """,
            """
            namespace Contracts
            {
                public interface IStore
                {
                    string Load(string key);
                }
            }
            """);

        Solution fixedSolution = await ApplyFix(document, "AIM007", new MoveSecureActionCodeFix());

        string moved = await TextOf(fixedSolution, contract!.Id);
        Assert.StartsWith("using Aim;", moved, StringComparison.Ordinal);
        Assert.Contains("[SecureAction(\"db:read\", RiskLevel = RiskLevel.High)]", moved);
        Assert.DoesNotContain("SecureAction", await TextOf(fixedSolution, document.Id), StringComparison.Ordinal);
        await AssertCleanBuild(fixedSolution.GetDocument(document.Id)!.Project);
    }

    [Fact]
    public async Task AIM007_fix_moves_an_overrides_attribute_to_the_root_virtual_member()
    {
        var (document, _) = Create("""
            using Aim;
            public class Root { public virtual int Read(int id) => 0; }
            public class Middle : Root { public override int Read(int id) => 1; }
            public class Leaf : Middle
            {
                [SecureAction("db:read", Resource = "users")]
                public override int Read(int id) => 2;
            }
            """);

        Solution fixedSolution = await ApplyFix(document, "AIM007", new MoveSecureActionCodeFix());

        string text = (await TextOf(fixedSolution, document.Id)).Replace("\r", string.Empty, StringComparison.Ordinal);
        Assert.Matches("public class Root \\{\\s*\\[SecureAction\\(\"db:read\", Resource = \"users\"\\)\\]\\s*public virtual int Read", text);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "SecureAction\\("));
        await AssertCleanBuild(fixedSolution.GetDocument(document.Id)!.Project);
    }

    [Fact]
    public async Task AIM006_fix_moves_an_explicit_implementations_attribute_to_the_interface_member()
    {
        var (document, _) = Create("""
            using Aim;
            public interface IPurge { void Purge(string table); }
            public sealed class Purger : IPurge
            {
                [SecureAction("db:delete"), System.Obsolete("kept")]
                void IPurge.Purge(string table) { }
            }
            """);

        Solution fixedSolution = await ApplyFix(document, "AIM006", new MoveSecureActionCodeFix());

        string text = await TextOf(fixedSolution, document.Id);
        Assert.Matches("\\[\\s*System\\.Obsolete\\(\"kept\"\\)\\]", text);
        Assert.Matches("\\[SecureAction\\(\"db:delete\"\\)\\]\\s*void Purge\\(string table\\);", text);
        await AssertCleanBuild(fixedSolution.GetDocument(document.Id)!.Project);
    }

    [Fact]
    public async Task AIM007_offers_no_move_when_the_interface_is_not_in_source()
    {
        var (document, _) = Create("""
            using Aim;
            public sealed class Agent : System.IDisposable
            {
                [SecureAction("db:delete")]
                public void Dispose() { }
            }
            """);

        Assert.Empty(await Fixes(document, "AIM007", new MoveSecureActionCodeFix()));
    }

    [Fact]
    public async Task AIM008_fix_removes_the_conflicting_restatement()
    {
        var (document, _) = Create("""
            using Aim;
            public interface IStore { [SecureAction("db:read")] string Load(string key); }
            public sealed class Store : IStore
            {
                [SecureAction("db:write"), System.Obsolete("kept")]
                public string Load(string key) => key;
            }
            """);

        Solution fixedSolution = await ApplyFix(document, "AIM008", new RemoveRestatedSecureActionCodeFix());

        string text = await TextOf(fixedSolution, document.Id);
        Assert.DoesNotContain("db:write", text, StringComparison.Ordinal);
        Assert.Matches("\\[\\s*System\\.Obsolete\\(\"kept\"\\)\\]", text);
        await AssertCleanBuild(fixedSolution.GetDocument(document.Id)!.Project);
    }
}
