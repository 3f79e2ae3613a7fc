using System.Text;
using Aim.Crypto;
using Aim.Identity;
using Aim.Protocol;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>
/// The per-request cost of the server's agent authentication: the client signing an RFC 9421 request (digest +
/// signature) and the server parsing and verifying it. The end-to-end server load test (throughput, p50/p99) is
/// tests/Aim.Server.Tests/LoadTests.cs, because it needs a running Kestrel server.
/// </summary>
[MemoryDiagnoser]
public class ServerSignatureBenchmarks
{
    private static readonly Uri Target = new("http://127.0.0.1:8080/api/v1/verifications");
    private readonly byte[] _body = Encoding.UTF8.GetBytes("{\"action_id\":\"3f2c\",\"capability\":\"db:read\",\"resource\":\"users_table\",\"jit\":false}");
    private Ed25519KeyPair _key = null!;
    private string _keyId = null!;
    private string _digest = null!;
    private string _input = null!;
    private string _signature = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = Ed25519KeyPair.Generate();
        _keyId = AgentIdentity.AipIdOf(_key.PublicKey);
        _digest = HttpMessageSignature.ContentDigest(_body);
        (_input, _signature) = HttpMessageSignature.Sign("POST", Target, _digest, 1_700_000_000, HttpMessageSignature.NewNonce(), _keyId, _key);
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark(Description = "client: Content-Digest + RFC 9421 sign")]
    public string Sign()
    {
        string digest = HttpMessageSignature.ContentDigest(_body);
        return HttpMessageSignature.Sign("POST", Target, digest, 1_700_000_000, HttpMessageSignature.NewNonce(), _keyId, _key).Signature;
    }

    [Benchmark(Description = "server: digest check + parse + verify")]
    public bool Verify()
    {
        if (HttpMessageSignature.ContentDigest(_body) != _digest || !HttpMessageSignature.TryParse(_input, _signature, out var parsed))
        {
            return false;
        }

        return HttpMessageSignature.Verify(parsed, "POST", Target.AbsoluteUri, _digest, _key.PublicKey);
    }
}
