using System.Collections.Immutable;
using Aim.Sdk.CodeFixes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Aim.Sdk.Generators.Tests;

public sealed class CodeFixTests
{
    private static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers = [new SecureActionAttributeAnalyzer(), new UnguardedUseAnalyzer()];

    private static (AdhocWorkspace Workspace, Document Document) Create(string source, string? aimJson = null, string? grantsFile = null)
    {
        var workspace = new AdhocWorkspace();
        var projectId = ProjectId.CreateNewId();
        workspace.AddProject(ProjectInfo.Create(
            projectId, VersionStamp.Create(), "Agent", "Agent", LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: Harness.ParseOptions,
            metadataReferences: Harness.References));
        Document document = workspace.AddDocument(projectId, "Agent.cs", SourceText.From(source));
        if (grantsFile is not null)
        {
            workspace.AddDocument(projectId, "Grants.cs", SourceText.From(grantsFile));
        }

        if (aimJson is not null)
        {
            var info = DocumentInfo.Create(DocumentId.CreateNewId(projectId), "aim.json", loader: TextLoader.From(TextAndVersion.Create(SourceText.From(aimJson), VersionStamp.Create())), filePath: "/agent/aim.json");
            workspace.TryApplyChanges(workspace.CurrentSolution.AddAdditionalDocument(info));
        }

        return (workspace, workspace.CurrentSolution.GetDocument(document.Id)!);
    }

    private static async Task<ImmutableArray<Diagnostic>> Diagnose(Project project)
    {
        Compilation compilation = (await project.GetCompilationAsync())!;
        return await compilation.WithAnalyzers(Analyzers, project.AnalyzerOptions).GetAnalyzerDiagnosticsAsync();
    }

    /// <summary>Applies the first fix for <paramref name="id"/> and returns the changed solution.</summary>
    private static async Task<Solution> ApplyFix(Document document, string id, CodeFixProvider provider)
    {
        Diagnostic diagnostic = (await Diagnose(document.Project)).First(d => d.Id == id);
        var actions = new List<CodeAction>();
        await provider.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None));
        CodeAction fix = Assert.Single(actions);
        var operation = (await fix.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().Single();
        return operation.ChangedSolution;
    }

    private static async Task AssertCompilesWithout(Project project, string id)
    {
        Compilation compilation = (await project.GetCompilationAsync())!;
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, Harness.Describe(errors));
        Assert.DoesNotContain(await Diagnose(project), d => d.Id == id);
    }

    [Theory]
    [InlineData("[SecureAction(\"payment:refund\", RiskLevel = RiskLevel.Low, JitAccess = true)]", "RiskLevel = RiskLevel.Critical")]
    [InlineData("[SecureAction(\"db:delete\", RiskLevel = Aim.RiskLevel.Medium)]", "RiskLevel = RiskLevel.High")]
    public async Task AIM002_fix_sets_the_detected_level(string attribute, string expected)
    {
        var (_, document) = Create($$"""
            using Aim;
            public class Agent
            {
                {{attribute}}
                public void Act() { }
            }
            """);

        Solution fixedSolution = await ApplyFix(document, "AIM002", new SetDetectedRiskCodeFix());

        Document fixedDocument = fixedSolution.GetDocument(document.Id)!;
        Assert.Contains(expected, (await fixedDocument.GetTextAsync()).ToString());
        await AssertCompilesWithout(fixedDocument.Project, "AIM002");
    }

    [Theory]
    [InlineData("[SecureAction(\"payment:refund\")]")]
    [InlineData("[SecureAction(\"payment:refund\", JitAccess = false)]")]
    [InlineData("[SecureAction(\"db:read\", RiskLevel = RiskLevel.Critical, Description = \"x\")]")]
    public async Task AIM004_fix_requires_jit_access(string attribute)
    {
        var (_, document) = Create($$"""
            using Aim;
            public class Agent
            {
                {{attribute}}
                public void Act() { }
            }
            """);

        Solution fixedSolution = await ApplyFix(document, "AIM004", new RequireJitAccessCodeFix());

        Document fixedDocument = fixedSolution.GetDocument(document.Id)!;
        string text = (await fixedDocument.GetTextAsync()).ToString();
        Assert.Contains("JitAccess = true", text);
        Assert.DoesNotContain("JitAccess = false", text);
        await AssertCompilesWithout(fixedDocument.Project, "AIM004");
    }

    [Fact]
    public async Task AIM003_fix_adds_the_grant_to_the_assembly_attribute()
    {
        var (_, document) = Create(
            """
            using Aim;
            public class Agent
            {
                [SecureAction("email:send")]
                public void Send() { }
            }
            """,
            grantsFile: "using Aim;\n[assembly: AgentCapabilities(\"db:read\")]\n" + AnalyzerTests.GrantsAttribute);

        Solution fixedSolution = await ApplyFix(document, "AIM003", new AddGrantCodeFix());

        Document grants = fixedSolution.GetDocument(document.Id)!.Project.Documents.Single(d => d.Name == "Grants.cs");
        Assert.Contains("AgentCapabilities(\"db:read\", \"email:send\")", (await grants.GetTextAsync()).ToString());
        await AssertCompilesWithout(grants.Project, "AIM003");
    }

    [Theory]
    [InlineData("{ \"grants\": [\"db:read\"] }")]
    [InlineData("{ \"grants\": [] }")]
    [InlineData("{ \"name\": \"agent\" }")]
    public async Task AIM003_fix_adds_the_grant_to_aim_json(string json)
    {
        var (_, document) = Create(
            """
            using Aim;
            public class Agent
            {
                [SecureAction("email:send")]
                public void Send() { }
            }
            """,
            aimJson: json);

        Solution fixedSolution = await ApplyFix(document, "AIM003", new AddGrantCodeFix());

        Project project = fixedSolution.GetDocument(document.Id)!.Project;
        string updated = (await project.AdditionalDocuments.Single().GetTextAsync()).ToString();
        Assert.Contains("email:send", Grants.ReadJsonGrants(updated));
        await AssertCompilesWithout(project, "AIM003");
    }
}
