namespace Aim.Intent.Tests;

internal static class Paths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Data => Path.Combine(RepoRoot, "data", "intent");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aim.Sdk.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Repository root (Aim.Sdk.sln) not found above the test binaries.");
    }
}
