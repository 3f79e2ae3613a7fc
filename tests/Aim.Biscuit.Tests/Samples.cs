using System.Text.Json.Nodes;

namespace Aim.Biscuit.Tests;

/// <summary>Locates the official Biscuit samples (reference data beside the repository, never copied into it).</summary>
internal static class Samples
{
    private static readonly Lazy<JsonObject?> Json = new(Load);

    internal static string? Directory { get; } = Find();

    internal static bool Available => Directory is not null;

    internal static JsonObject Root => Json.Value ?? throw new InvalidOperationException("samples missing");

    internal static PublicKey RootPublicKey => PublicKey.FromBytes(Convert.FromHexString((string)Root["root_public_key"]!), Algorithm.Ed25519);

    internal static IEnumerable<JsonObject> TestCases => Root["testcases"]!.AsArray().Select(n => n!.AsObject());

    internal static byte[] Token(string filename) => File.ReadAllBytes(Path.Combine(Directory!, filename));

    /// <summary>Fails when the samples are missing under CI=true; returns false (nothing to check) elsewhere.</summary>
    internal static bool RequireOrFailInCi()
    {
        if (Available) return true;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail("Biscuit samples not found at ../shared/biscuit/samples relative to the repository root (required under CI=true).");
        return false;
    }

    private static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aim.Sdk.sln")))
            {
                var samples = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "biscuit", "samples"));
                return File.Exists(Path.Combine(samples, "samples.json")) ? samples : null;
            }
        }
        return null;
    }

    private static JsonObject? Load() => Directory is null ? null : JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, "samples.json")))!.AsObject();
}
