using System.Runtime.InteropServices;
using Aim.Crypto;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Aim.Benchmarks;

/// <summary>
/// Aim.Crypto on NSec beside raw P/Invoke calls into the same libsodium that NSec ships (the libsodium NuGet package's
/// native library, resolved from this app's runtimes/ folder), in one run, with a baseline per category:
/// sign (raw <c>crypto_sign_detached</c> vs <see cref="Ed25519KeyPair.Sign(ReadOnlySpan{byte}, Span{byte})"/>), verify
/// (raw <c>crypto_sign_verify_detached</c> vs <see cref="Ed25519.Verify"/>), and compact (one raw verify of a compact
/// token's signed bytes vs the full compact verify, V1-V7, no cache).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class Ed25519Benchmarks
{
    private readonly byte[] _message = new byte[256];
    private readonly byte[] _signature = new byte[64];
    private readonly byte[] _publicKey = new byte[32];
    private readonly byte[] _secretKey = new byte[64];
    private readonly byte[] _seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly byte[] _derivedPublic = new byte[32];
    private readonly byte[] _derivedSecret = new byte[64];
    private Ed25519KeyPair _pair = null!;
    private CompactTokenFixture _token = null!;
    private AipVerifier _verifier = null!;
    private readonly AipAccessRequest _search = new("tool:search", 0.10m);

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(_message);
        _pair = Ed25519KeyPair.FromSeed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        Ed25519.KeyPairFromSeed(_pair.ExportSeed(), _publicKey, _secretKey);
        _pair.Sign(_message, _signature);

        _token = CompactTokenFixture.Create();
        _verifier = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(AipIdentifier.ForKey(_token.Root.PublicKey)), CacheCapacity = 0 });
        _ = CompactVerify();

        // Both sides must run the same code: the raw calls and NSec resolve the same native library.
        if (RawSodium.crypto_sign_verify_detached(_signature, _message, (ulong)_message.Length, _publicKey) != 0 || !AimVerify())
        {
            throw new InvalidOperationException("The raw and NSec verifications disagree.");
        }

        RawSodium.RequireOneLibsodium();
    }

    [GlobalCleanup]
    public void Cleanup() => _pair.Dispose();

    [Benchmark(Baseline = true, Description = "raw P/Invoke crypto_sign_detached")]
    [BenchmarkCategory("sign")]
    public int RawSign() => RawSodium.crypto_sign_detached(_signature, out _, _message, (ulong)_message.Length, _secretKey);

    [Benchmark(Description = "Ed25519KeyPair.Sign (NSec)")]
    [BenchmarkCategory("sign")]
    public void AimSign() => _pair.Sign(_message, _signature);

    /// <summary>What a chained token's proof check costs beside its signature checks (one of the indivisible pieces).</summary>
    [Benchmark(Description = "key pair from a seed (a chain's proof check)")]
    [BenchmarkCategory("sign")]
    public void KeyPairFromSeed() => Ed25519.KeyPairFromSeed(_seed, _derivedPublic, _derivedSecret);

    [Benchmark(Baseline = true, Description = "raw P/Invoke crypto_sign_verify_detached")]
    [BenchmarkCategory("verify")]
    public int RawVerify() => RawSodium.crypto_sign_verify_detached(_signature, _message, (ulong)_message.Length, _publicKey);

    [Benchmark(Description = "Ed25519.Verify (NSec)")]
    [BenchmarkCategory("verify")]
    public bool AimVerify() => Ed25519.Verify(_publicKey, _message, _signature);

    [Benchmark(Baseline = true, Description = "raw P/Invoke verify of the compact token's bytes")]
    [BenchmarkCategory("compact")]
    public int RawCompactVerify() => RawSodium.crypto_sign_verify_detached(_token.Signature, _token.Input, (ulong)_token.Input.Length, _token.RootPublic);

    [Benchmark(Description = "compact verify (parse, V1-V7, no cache)")]
    [BenchmarkCategory("compact")]
    public AipVerifiedToken CompactVerify()
    {
        var pending = _verifier.VerifyAsync(_token.Compact, _search);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>
/// A direct binding of libsodium for the baselines, as plain as it gets. "libsodium" resolves through this app's
/// deps.json to the libsodium NuGet package's native library: the one NSec loads. Lives only in the benchmarks.
/// </summary>
internal static partial class RawSodium
{
    private const string Library = "libsodium";

    [LibraryImport(Library)]
    internal static partial int crypto_sign_detached(Span<byte> sig, out ulong siglen, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> sk);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_verify_detached(ReadOnlySpan<byte> sig, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> pk);

    /// <summary>Fails unless exactly one libsodium is mapped into the process (Linux: /proc/self/maps).</summary>
    internal static void RequireOneLibsodium()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var loaded = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6 && parts[5].Contains("libsodium", StringComparison.Ordinal))
            .Select(parts => parts[5])
            .Distinct()
            .ToList();
        if (loaded.Count != 1)
        {
            throw new InvalidOperationException("Expected one libsodium in the process, found: " + string.Join(", ", loaded));
        }

        Console.WriteLine("// libsodium: " + loaded[0]);
    }
}
