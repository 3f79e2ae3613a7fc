using System.Runtime.InteropServices;
using Aim.Crypto;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>Our Ed25519 binding beside direct libsodium calls in the same run: the binding's overhead.</summary>
[MemoryDiagnoser]
public partial class Ed25519Benchmarks
{
    private readonly byte[] _message = new byte[256];
    private readonly byte[] _signature = new byte[64];
    private readonly byte[] _publicKey = new byte[32];
    private readonly byte[] _secretKey = new byte[64];

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(_message);
        Ed25519.GenerateKeyPair(_publicKey, _secretKey);
        Ed25519.Sign(_secretKey, _message, _signature);
    }

    [Benchmark(Baseline = true, Description = "raw libsodium crypto_sign_detached")]
    [BenchmarkCategory("sign")]
    public int RawSign() => RawSodium.crypto_sign_detached(_signature, out _, _message, (ulong)_message.Length, _secretKey);

    [Benchmark(Description = "Aim.Crypto Ed25519.Sign")]
    [BenchmarkCategory("sign")]
    public void AimSign() => Ed25519.Sign(_secretKey, _message, _signature);

    [Benchmark(Description = "raw libsodium crypto_sign_verify_detached")]
    [BenchmarkCategory("verify")]
    public int RawVerify() => RawSodium.crypto_sign_verify_detached(_signature, _message, (ulong)_message.Length, _publicKey);

    [Benchmark(Description = "Aim.Crypto Ed25519.Verify")]
    [BenchmarkCategory("verify")]
    public bool AimVerify() => Ed25519.Verify(_publicKey, _message, _signature);
}

/// <summary>A direct binding of libsodium, as plain as it gets, for the baseline.</summary>
internal static partial class RawSodium
{
    [LibraryImport("libsodium.so.23")]
    internal static partial int crypto_sign_detached(Span<byte> sig, out ulong siglen, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> sk);

    [LibraryImport("libsodium.so.23")]
    internal static partial int crypto_sign_verify_detached(ReadOnlySpan<byte> sig, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> pk);
}
