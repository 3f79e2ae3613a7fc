using Aim.Engine;

namespace Aim.AI.Tests;

/// <summary>An embedded runtime in a temporary home, disposed with the test.</summary>
internal sealed class TestRuntime : IAsyncDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("aim-ai-").FullName;

    public TestRuntime(params string[] grants)
    {
        Engine = EmbeddedEngine.Create(new AimOptions { AgentName = "ai-agent", Home = _home }.Grant(grants));
        Runtime = new AimRuntime(Engine);
    }

    public EmbeddedEngine Engine { get; }

    public AimRuntime Runtime { get; }

    public async Task<IReadOnlyList<Aim.Audit.AuditRecord>> AuditAsync()
    {
        await Engine.AuditLog.FlushAsync();
        return Engine.AuditLog.Read(0, (int)Engine.AuditLog.Count).Select(e => e.Record).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        try
        {
            Directory.Delete(_home, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
