namespace Aim.Server.Tests;

/// <summary>The test run's temporary roots: an ended run's root is removed by the next run, a live run's root is kept.</summary>
public sealed class TestDirectoriesTests
{
    [Fact]
    public void Roots_of_ended_test_processes_are_removed_and_live_ones_kept()
    {
        string temp = Path.GetTempPath();
        // Above Linux's largest pid (4,194,304): no process has it.
        string ended = Directory.CreateDirectory(Path.Combine(temp, $"aim-server-tests-{int.MaxValue}-{Guid.NewGuid():N}")).FullName;
        File.WriteAllText(Path.Combine(ended, "left-behind.db"), "data");
        // This process's parent (the test runner) is alive while this test runs.
        int parent = int.Parse(File.ReadAllText("/proc/self/stat").Split(") ")[1].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        string live = Directory.CreateDirectory(Path.Combine(temp, $"aim-server-tests-{parent}-{Guid.NewGuid():N}")).FullName;
        string unnamed = Directory.CreateDirectory(Path.Combine(temp, $"aim-server-tests-{Guid.NewGuid():N}")).FullName;
        try
        {
            TestDirectories.RemoveRootsOfEndedRuns();

            Assert.False(Directory.Exists(ended));
            Assert.True(Directory.Exists(live));
            Assert.True(Directory.Exists(unnamed)); // no pid in the name: not ours to judge
            Assert.StartsWith(Path.Combine(temp, $"aim-server-tests-{Environment.ProcessId}-"), TestDirectories.Create("probe").Parent!.FullName, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var dir in new[] { ended, live, unnamed })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
    }
}
