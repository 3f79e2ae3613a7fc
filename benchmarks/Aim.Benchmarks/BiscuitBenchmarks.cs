using Aim.Biscuit;
using Aim.Biscuit.Datalog;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>
/// Biscuit costs beside one raw Ed25519 verification in the same run (the baseline):
/// parse + verify of a 1-block token (target: within 15% of the baseline), verify + authorize of a
/// 3-block token with 20 facts and 5 checks (target: under 200 us), authorization over a 1,000-fact
/// world (target: under 1 ms). Verification runs both ways: the default (concurrent on a multi-core machine:
/// the calling thread and one thread-pool worker share the signature checks and the proof, which lowers
/// latency, not CPU) and single-threaded (the CPU cost of one verification).
/// </summary>
[MemoryDiagnoser]
public class BiscuitBenchmarks
{
    // Generous time budget: the first (JIT) invocation of a cold process can take ~100 ms on a loaded machine.
    private static readonly RunLimits Limits = RunLimits.Default with { MaxFacts = 5000, MaxTime = TimeSpan.FromSeconds(1) };
    private static readonly BiscuitParseOptions Concurrent = new() { Concurrency = VerificationConcurrency.Concurrent };
    private static readonly BiscuitParseOptions SingleThreaded = new() { Concurrency = VerificationConcurrency.SingleThreaded };
    private KeyPair _root = null!;
    private byte[] _oneBlock = null!;
    private byte[] _threeBlocks = null!;
    private byte[] _rawMessage = null!;
    private byte[] _rawSignature = null!;
    private Fact[] _worldFacts = null!;

    [GlobalSetup]
    public void Setup()
    {
        _root = KeyPair.Generate();
        _oneBlock = BiscuitToken.CreateBuilder().AddCode("user(\"alice\"); right(\"file1\", \"read\");").Build(_root).ToBytes();
        _rawMessage = new byte[_oneBlock.Length];
        new Random(1).NextBytes(_rawMessage);
        _rawSignature = _root.Sign(_rawMessage);

        var authority = new BlockBuilder();
        for (var i = 0; i < 16; i++) authority.AddCode($"right(\"file{i}\", \"read\");");
        authority.AddCode("user(\"alice\"); check if time($t), $t < 2030-01-01T00:00:00Z;");
        var token = BiscuitToken.CreateBuilder();
        token.Authority.AddCode(authority.ToString());
        _threeBlocks = token.Build(_root)
            .Attenuate(new BlockBuilder().AddCode("team(\"a\"); check if operation(\"read\"); check if resource($r), $r.starts_with(\"file\");"))
            .Attenuate(new BlockBuilder().AddCode("env(\"prod\"); check if resource($r), right($r, \"read\");"))
            .ToBytes();

        _worldFacts = Enumerable.Range(0, 1000).Select(i => new Fact("item", Term.Integer(i), Term.String("owner" + (i % 50)))).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _root.Dispose();

    [Benchmark(Baseline = true, Description = "raw Ed25519 verify (libsodium)")]
    public bool RawEd25519Verify() => Aim.Crypto.Ed25519.Verify(_root.PublicKey.Bytes, _rawMessage, _rawSignature);

    [Benchmark(Description = "parse + verify, 1-block token")]
    public int ParseAndVerifyOneBlock() => BiscuitToken.FromBytes(_oneBlock, _root.PublicKey, Concurrent).Blocks.Count;

    [Benchmark(Description = "parse + verify, 1-block token, single-threaded")]
    public int ParseAndVerifyOneBlockSingleThreaded() => BiscuitToken.FromBytes(_oneBlock, _root.PublicKey, SingleThreaded).Blocks.Count;

    // The signature side of the 3-block figure alone: verify + authorize minus this is the Datalog work.
    [Benchmark(Description = "parse + verify, 3 blocks")]
    public int ParseAndVerifyThreeBlocks() => BiscuitToken.FromBytes(_threeBlocks, _root.PublicKey, Concurrent).Blocks.Count;

    [Benchmark(Description = "parse + verify, 3 blocks, single-threaded")]
    public int ParseAndVerifyThreeBlocksSingleThreaded() => BiscuitToken.FromBytes(_threeBlocks, _root.PublicKey, SingleThreaded).Blocks.Count;

    [Benchmark(Description = "verify + authorize, 3 blocks, 20 facts, 5 checks")]
    public int VerifyAndAuthorizeThreeBlocks() => VerifyAndAuthorize(Concurrent);

    [Benchmark(Description = "verify + authorize, 3 blocks, 20 facts, 5 checks, single-threaded")]
    public int VerifyAndAuthorizeThreeBlocksSingleThreaded() => VerifyAndAuthorize(SingleThreaded);

    private int VerifyAndAuthorize(BiscuitParseOptions options)
    {
        var token = BiscuitToken.FromBytes(_threeBlocks, _root.PublicKey, options);
        var authorizer = new Authorizer { Limits = Limits }
            .AddCode("time(2026-01-01T00:00:00Z); resource(\"file3\"); operation(\"read\"); check if user($u); allow if right(\"file3\", \"read\");")
            .AddToken(token);
        return authorizer.Authorize();
    }

    [Benchmark(Description = "authorize over a 1,000-fact world")]
    public int AuthorizeThousandFacts()
    {
        var authorizer = new Authorizer { Limits = Limits };
        foreach (var f in _worldFacts) authorizer.AddFact(f);
        authorizer.AddCode("owned($i) <- item($i, \"owner7\"); check if item(999, $o); allow if owned(507);");
        return authorizer.Authorize();
    }
}
