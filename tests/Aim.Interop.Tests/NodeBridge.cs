using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Aim.Interop.Tests;

/// <summary>
/// One Node process running node/bridge.mjs over @biscuit-auth/biscuit-wasm (biscuit-rust compiled to WebAssembly), shared
/// by the tests of a class. The package is installed with <c>npm ci</c> from the committed package-lock.json when
/// node_modules is missing or older than the lock file, so a fresh CI machine needs only Node and npm. Requests and answers
/// are JSON lines. A missing Node fails the tests: nothing is skipped.
/// </summary>
public sealed class NodeBridge : IDisposable
{
    private static readonly Lock InstallLock = new();
    private readonly Process _process;
    private readonly Lock _gate = new();

    public NodeBridge()
    {
        var directory = Path.Combine(RepositoryRoot(), "tests", "Aim.Interop.Tests", "node");
        Install(directory);
        var start = new ProcessStartInfo("node", ["--experimental-wasm-modules", "--no-warnings", "bridge.mjs"])
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
    }

    /// <summary>Sends a batch of operations and returns one answer per item, in order.</summary>
    public IReadOnlyList<JsonObject> Batch(IReadOnlyList<JsonObject> items)
    {
        var request = new JsonObject { ["op"] = "batch", ["items"] = new JsonArray(items.Select(i => (JsonNode)i.DeepClone()).ToArray()) };
        var reply = Send(request);
        return reply["results"]!.AsArray().Select(r => r!.AsObject()).ToList();
    }

    private JsonObject Send(JsonObject request)
    {
        lock (_gate)
        {
            _process.StandardInput.WriteLine(request.ToJsonString());
            _process.StandardInput.Flush();
            while (true)
            {
                // biscuit-wasm prints a line of its own when it loads; answers are the JSON lines.
                var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the biscuit-wasm bridge exited");
                if (line.StartsWith('{'))
                {
                    return JsonNode.Parse(line)!.AsObject();
                }
            }
        }
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(5000))
            {
                _process.Kill();
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aim.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Aim.Sdk.sln not found above the test assembly.");
    }

    private static void Install(string directory)
    {
        lock (InstallLock)
        {
            var lockFile = Path.Combine(directory, "package-lock.json");
            var marker = Path.Combine(directory, "node_modules", ".package-lock.json");
            var package = Path.Combine(directory, "node_modules", "@biscuit-auth", "biscuit-wasm", "module", "biscuit_bg.wasm");
            if (File.Exists(package) && File.Exists(marker) && File.GetLastWriteTimeUtc(marker) >= File.GetLastWriteTimeUtc(lockFile))
            {
                return;
            }

            var npm = new ProcessStartInfo("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(npm) ?? throw new InvalidOperationException("npm did not start");
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException("npm ci did not finish in 5 minutes");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci failed ({process.ExitCode}): {output.Result}{errors.Result}");
            }
        }
    }
}
