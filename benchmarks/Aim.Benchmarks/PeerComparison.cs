using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Biscuit;
using Aim.Biscuit.Datalog;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;

namespace Aim.Benchmarks;

/// <summary>
/// Aim's side of <c>benchmarks/compare.sh</c>: the same tokens measured here, in Node (jose, biscuit-wasm) and in the AIP
/// reference's Python verifier, with one timing method everywhere (see <see cref="Measure"/>), so the ratios compare like
/// with like. <c>--peers-fixture FILE</c> mints the tokens and writes them; <c>--peers-measure FILE</c> measures Aim on them
/// and prints one JSON object.
/// </summary>
internal static class PeerComparison
{
    /// <summary>The Datalog the authorizer adds to the 3-block token (the same text runs in biscuit-wasm).</summary>
    public const string AuthorizerCode =
        "time(2026-01-01T00:00:00Z); resource(\"file3\"); operation(\"read\"); check if user($u); allow if right(\"file3\", \"read\");";

    /// <summary>Handles the peer modes; false when <paramref name="args"/> asks for none (then BenchmarkDotNet runs).</summary>
    public static bool TryRun(string[] args)
    {
        if (args.Length == 2 && args[0] == "--peers-fixture")
        {
            WriteFixture(args[1]);
            return true;
        }

        if (args.Length >= 2 && args[0] == "--peers-measure")
        {
            double seconds = args.Length >= 3 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 0.25;
            Console.WriteLine(MeasureAll(args[1], seconds).ToJsonString());
            return true;
        }

        return false;
    }

    private static void WriteFixture(string path)
    {
        var compact = CompactTokenFixture.Create();
        using var root = KeyPair.Generate();
        var authority = new BlockBuilder();
        for (var i = 0; i < 16; i++)
        {
            authority.AddCode($"right(\"file{i}\", \"read\");");
        }

        authority.AddCode("user(\"alice\"); check if time($t), $t < 2030-01-01T00:00:00Z;");
        var builder = BiscuitToken.CreateBuilder();
        builder.Authority.AddCode(authority.ToString());
        var biscuit = builder.Build(root)
            .Attenuate(new BlockBuilder().AddCode("team(\"a\"); check if operation(\"read\"); check if resource($r), $r.starts_with(\"file\");"))
            .Attenuate(new BlockBuilder().AddCode("env(\"prod\"); check if resource($r), right($r, \"read\");"));

        var fixture = new JsonObject
        {
            ["compact"] = compact.Compact,
            ["compact_root_public_hex"] = Convert.ToHexStringLower(compact.RootPublic),
            ["compact_tool"] = "tool:search",
            ["biscuit"] = biscuit.ToBase64(),
            ["biscuit_root_public"] = root.PublicKey.ToString(),
            ["biscuit_authorizer"] = AuthorizerCode,
        };
        File.WriteAllText(path, fixture.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static JsonObject MeasureAll(string path, double seconds)
    {
        var fixture = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        string compact = fixture["compact"]!.GetValue<string>();
        byte[] compactRoot = Convert.FromHexString(fixture["compact_root_public_hex"]!.GetValue<string>());
        int dot = compact.LastIndexOf('.');
        byte[] input = System.Text.Encoding.ASCII.GetBytes(compact[..dot]);
        byte[] signature = System.Buffers.Text.Base64Url.DecodeFromChars(compact.AsSpan(dot + 1));
        var verifier = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(AipIdentifier.ForKey(compactRoot)), CacheCapacity = 0 });
        var request = new AipAccessRequest(fixture["compact_tool"]!.GetValue<string>(), 0.10m);

        byte[] biscuit = System.Buffers.Text.Base64Url.DecodeFromChars(fixture["biscuit"]!.GetValue<string>());
        var biscuitRoot = Aim.Biscuit.PublicKey.Parse(fixture["biscuit_root_public"]!.GetValue<string>());
        var limits = RunLimits.Default with { MaxFacts = 5000, MaxTime = TimeSpan.FromSeconds(1) };
        var concurrent = new BiscuitParseOptions { Concurrency = VerificationConcurrency.Concurrent };
        var single = new BiscuitParseOptions { Concurrency = VerificationConcurrency.SingleThreaded };

        int Authorize(BiscuitParseOptions options) => new Authorizer { Limits = limits }
            .AddCode(AuthorizerCode)
            .AddToken(BiscuitToken.FromBytes(biscuit, biscuitRoot, options))
            .Authorize();

        AipVerifiedToken Verify()
        {
            var pending = verifier.VerifyAsync(compact, request);
            return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        }

        // Each is checked once before it is timed: a measurement of a failing call would be meaningless.
        if (RawSodium.crypto_sign_verify_detached(signature, input, (ulong)input.Length, compactRoot) != 0 || Verify().Subject is null || Authorize(single) != 0)
        {
            throw new InvalidOperationException("The fixture does not verify in Aim.");
        }

        RawSodium.RequireOneLibsodium();
        return new JsonObject
        {
            ["runtime"] = $".NET {Environment.Version}",
            ["raw_ed25519_verify"] = Measure(() => RawSodium.crypto_sign_verify_detached(signature, input, (ulong)input.Length, compactRoot), seconds),
            ["compact_verify"] = Measure(() => Verify(), seconds),
            ["biscuit_verify_authorize"] = Measure(() => Authorize(concurrent), seconds),
            ["biscuit_verify_authorize_single_threaded"] = Measure(() => Authorize(single), seconds),
        };
    }

    /// <summary>
    /// The timing method every peer uses: run for about <paramref name="seconds"/> to warm up, size a batch to about
    /// <paramref name="seconds"/> / 4, then time 9 batches; report the median and the minimum of the per-call means, in
    /// microseconds. The median resists a preempted batch on a shared machine; the minimum is the best case.
    /// </summary>
    public static JsonObject Measure<T>(Func<T> call, double seconds)
    {
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            call();
            n++;
        }

        long batch = Math.Max(1, (long)(n / clock.Elapsed.TotalSeconds * seconds / 4));
        var means = new double[9];
        for (int b = 0; b < means.Length; b++)
        {
            long start = Stopwatch.GetTimestamp();
            for (long i = 0; i < batch; i++)
            {
                call();
            }

            means[b] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / batch;
        }

        Array.Sort(means);
        return new JsonObject { ["median_us"] = Math.Round(means[4], 3), ["min_us"] = Math.Round(means[0], 3), ["batch"] = batch };
    }
}
