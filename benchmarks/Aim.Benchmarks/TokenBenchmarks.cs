using System.Text;
using Aim.Crypto;
using Aim.Tokens.Chained;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;
using BenchmarkDotNet.Attributes;

namespace Aim.Benchmarks;

/// <summary>
/// AIP token verification: a full compact verify beside one raw libsodium verify of the same bytes (same run), a cached
/// re-verify, and a 3-hop chained verify through V1-V7 (Datalog included) in both chained forms: the AIP-standard form
/// (ordinary appended blocks: 4 block signatures and the proof) and the attested form (third-party blocks signed by each
/// delegator: 3 more signatures). Compare ratios to the raw baseline of the same run.
/// </summary>
[MemoryDiagnoser]
public class TokenBenchmarks
{
    private byte[] _input = [];
    private byte[] _signature = [];
    private byte[] _rootPublic = [];
    private string _compact = string.Empty;
    private string _chained = string.Empty;
    private string _attested = string.Empty;
    private AipVerifier _uncached = null!;
    private AipVerifier _cached = null!;
    private readonly AipAccessRequest _search = new("tool:search", 0.10m);

    [GlobalSetup]
    public void Setup()
    {
        var fixture = CompactTokenFixture.Create();
        var root = fixture.Root;
        var a = fixture.Holder;
        var b = Ed25519KeyPair.FromSeed(Enumerable.Repeat((byte)3, 32).ToArray());
        var c = Ed25519KeyPair.FromSeed(Enumerable.Repeat((byte)4, 32).ToArray());
        string Id(Ed25519KeyPair k) => AipIdentifier.ForKey(k.PublicKey);
        var now = fixture.Now;

        _compact = fixture.Compact;
        _input = fixture.Input;
        _signature = fixture.Signature;
        _rootPublic = fixture.RootPublic;

        string ThreeHops(AipBlockForm form)
        {
            var chain = ChainedToken.Create(root, new AipAuthority(Id(root), ["tool:search", "tool:fetch"], 3, now.AddMinutes(50), 5m));
            chain = ChainedToken.Delegate(chain, root, new AipDelegation(Id(a), ["tool:search", "tool:fetch"], "plan", 5m), form);
            chain = ChainedToken.Delegate(chain, a, new AipDelegation(Id(b), ["tool:search"], "research", 2m), form);
            return ChainedToken.Delegate(chain, b, new AipDelegation(Id(c), ["tool:search"], "search", 1m), form);
        }

        _chained = ThreeHops(AipBlockForm.Standard);
        _attested = ThreeHops(AipBlockForm.Attested);

        var trust = new InMemoryTrustStore(Id(root));
        _uncached = new AipVerifier(new AipVerifierOptions { TrustStore = trust, CacheCapacity = 0 });
        _cached = new AipVerifier(new AipVerifierOptions { TrustStore = trust });
        _cached.VerifyAsync(_compact, _search).AsTask().GetAwaiter().GetResult();
        _ = _uncached.VerifyAsync(_chained, _search).AsTask().GetAwaiter().GetResult();
        _ = _uncached.VerifyAsync(_attested, _search).AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "raw libsodium verify of the compact token's bytes")]
    public int RawLibsodiumVerify() => RawSodium.crypto_sign_verify_detached(_signature, _input, (ulong)_input.Length, _rootPublic);

    [Benchmark(Description = "compact verify (parse, V1-V7, no cache)")]
    public AipVerifiedToken CompactVerify()
    {
        // A compact aip:key token completes synchronously: read the result without AsTask (which would allocate a Task).
        var pending = _uncached.VerifyAsync(_compact, _search);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "compact re-verify from the cache")]
    public AipVerifiedToken CachedReverify()
    {
        var pending = _cached.VerifyAsync(_compact, _search);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "chained 3-hop verify V1-V7, AIP-standard appended blocks (no cache)")]
    public AipVerifiedToken ChainedVerify3Hop() => _uncached.VerifyAsync(_chained, _search).AsTask().GetAwaiter().GetResult();

    [Benchmark(Description = "chained 3-hop verify V1-V7, attested third-party blocks (no cache)")]
    public AipVerifiedToken ChainedVerify3HopAttested() => _uncached.VerifyAsync(_attested, _search).AsTask().GetAwaiter().GetResult();
}
