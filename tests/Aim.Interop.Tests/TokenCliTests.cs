using System.Diagnostics;
using System.Text.Json.Nodes;
using Aim.Tokens.Identity;

namespace Aim.Interop.Tests;

/// <summary>
/// <c>aim token verify</c> on a token the AIP reference minted: an <c>aip:web</c> root pinned in a <c>--trust-store</c>
/// file, and a compact token that lives for decades, accepted only with <c>--max-lifetime</c> raised or lifted.
/// </summary>
public sealed class TokenCliTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "aim-interop-cli-" + Guid.NewGuid().ToString("N"));

    public TokenCliTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public void Verify_reads_an_aip_web_root_from_a_trust_store_file_and_applies_the_lifetime_option()
    {
        var vector = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "aip-reference.json")))!["cases"]!.AsArray()
            .Select(c => c!.AsObject()).Single(c => (string)c["name"]! == "compact: Python token, verified");
        var root = (string)vector["root"]!;
        var key = AipIdentifier.ForKey(Convert.FromHexString((string)vector["root_public_key_hex"]!));
        var store = Path.Combine(_directory, "trust.json");
        File.WriteAllText(store, new JsonObject
        {
            ["trusted_roots"] = new JsonArray(root),
            ["pinned"] = new JsonArray(new JsonObject { ["id"] = root, ["keys"] = new JsonArray(new JsonObject { ["id"] = "k1", ["public_key"] = key }) }),
        }.ToJsonString());
        var token = (string)vector["token"]!;

        var (ok, output, _) = Aim("token", "verify", "--trust-store", store, "--max-lifetime", "none", "--json", token);
        Assert.Equal(0, ok);
        Assert.Contains(root, output, StringComparison.Ordinal);
        Assert.Equal(0, Aim("token", "verify", "--trust-store", store, "--max-lifetime", "36500d", token).ExitCode);

        var (tooLong, refused, _) = Aim("token", "verify", "--trust-store", store, token);
        Assert.Equal(1, tooLong);
        Assert.Contains("aip_token_malformed", refused, StringComparison.Ordinal);

        var (unpinned, unresolvable, _) = Aim("token", "verify", "--trusted-key", key, "--max-lifetime", "none", token);
        Assert.Equal(1, unpinned);
        Assert.Contains("aip_identity_unresolvable", unresolvable, StringComparison.Ordinal);

        Assert.Equal(2, Aim("token", "verify", token).ExitCode);
        Assert.Equal(2, Aim("token", "verify", "--trust-store", store, "--max-lifetime", "soon", token).ExitCode);
    }

    private (int ExitCode, string Out, string Err) Aim(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "aim.dll"));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["AIM_HOME"] = _directory;
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("aim did not finish");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
