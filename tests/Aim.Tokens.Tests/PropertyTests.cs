using System.Globalization;
using System.Text;
using Aim.Tokens.Chained;
using Aim.Tokens.Compact;
using Aim.Tokens.Tests.Adversarial;
using Aim.Tokens.Verification;
using CsCheck;
using Xunit.Abstractions;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

/// <summary>
/// Property-based and mutation tests (CsCheck generators, fixed seed): whatever bytes reach the compact and chained token
/// verifiers, they answer with a verified token or an <see cref="AipException"/> carrying one of the AIP codes, never
/// another exception. A chained token that does verify never grants more than its authority block. The iteration count
/// is <see cref="Fuzz.Iterations"/> (CI: bounded; <c>AIM_FUZZ_ITERATIONS</c> for a longer run).
/// </summary>
public sealed class PropertyTests(ITestOutputHelper output)
{
    private static readonly HashSet<string> Codes =
    [
        AipErrorCodes.TokenMissing, AipErrorCodes.TokenMalformed, AipErrorCodes.SignatureInvalid, AipErrorCodes.IdentityUnresolvable,
        AipErrorCodes.DepthExceeded, AipErrorCodes.ScopeInsufficient, AipErrorCodes.BudgetExceeded, AipErrorCodes.TokenExpired, AipErrorCodes.KeyRevoked,
    ];

    private static readonly Aim.Crypto.Ed25519KeyPair Root = FromByte(1);
    private static readonly Aim.Crypto.Ed25519KeyPair Agent = FromByte(2);
    private readonly ManualClock _clock = new(T0.AddMinutes(1));

    private static readonly Gen<string> JsonValue = Gen.OneOf<string>(
        Gen.Const("null"), Gen.Const("true"), Gen.Const("[]"), Gen.Const("{}"), Gen.Const("\"\""), Gen.Const("1e400"), Gen.Const("-0"),
        Gen.Const("\"aip:key:ed25519:z\""), Gen.Const("\"aip:web:example.com/a\""), Gen.Const("[\"tool:*\",\"*\"]"), Gen.Const("[\"tool:search\"]"),
        Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)), Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "0.5"),
        Gen.String.Select(s => System.Text.Json.JsonSerializer.Serialize(s)), Gen.Int[0, 3].Select(n => new string('[', n) + new string(']', n)));

    private static readonly string[] ClaimNames = ["iss", "sub", "scope", "budget_usd", "max_depth", "iat", "exp", "jti", "crit"];

    [Fact]
    public async Task Compact_verifier_answers_every_signed_claims_object_with_a_token_or_an_AIP_code()
    {
        // Any JSON object of the claim names with values of any type (some missing, some twice), signed by the trusted root.
        var claims = Gen.Select(Gen.Int[0, 10], Gen.Int[0, ClaimNames.Length - 1].Array[0, 10], JsonValue.Array[10], Gen.Bool,
            (keep, extra, values, duplicate) =>
            {
                var members = new List<string>();
                var issued = T0.ToUnixTimeSeconds();
                string[] honest = [$"\"{Id(Root)}\"", $"\"{Id(Agent)}\"", "[\"tool:search\"]", "5", "1", issued.ToString(CultureInfo.InvariantCulture), (issued + 600).ToString(CultureInfo.InvariantCulture)];
                for (var i = 0; i < honest.Length; i++)
                {
                    if (i != keep)
                    {
                        members.Add($"\"{ClaimNames[i]}\":{(i == keep - 1 ? values[i] : honest[i])}");
                    }
                }

                foreach (var e in extra)
                {
                    members.Add($"\"{ClaimNames[e]}\":{values[e]}");
                }

                if (duplicate && members.Count > 0)
                {
                    members.Add(members[0]);
                }

                return "{" + string.Join(",", members) + "}";
            });
        var verifier = Verifier(_clock, Root);
        var count = await Fuzz.RunAsync(claims, async payload =>
        {
            var token = RawJws.Sign(RawJws.Header, payload, Root);
            await ExpectTokenOrCodeAsync(verifier, token, payload);
            ExpectDecodeOrCode(token);
        });
        output.WriteLine($"{count} signed claims objects");
    }

    [Fact]
    public async Task Compact_verifier_answers_every_mutation_of_a_valid_token_with_a_token_or_an_AIP_code()
    {
        var valid = CompactToken.Create(Root, Claims(Root, Agent));
        var verifier = Verifier(_clock, Root);
        var count = await Fuzz.RunAsync(Mutation(valid.Length, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u00e9\0"), async m =>
        {
            var token = Apply(valid, m);
            await ExpectTokenOrCodeAsync(verifier, token, token);
            ExpectDecodeOrCode(token);
        });
        output.WriteLine($"{count} mutated compact tokens");
    }

    [Fact]
    public async Task Chained_verifier_answers_every_mutation_of_a_valid_chain_with_a_token_or_an_AIP_code()
    {
        var chain = ChainedToken.Delegate(ChainedToken.Create(Root, new AipAuthority(Id(Root), ["tool:search", "tool:*"], 3, T0.AddMinutes(30), 5m)),
            Root, new AipDelegation(Id(Agent), ["tool:search"], "plan", 1m, T0.AddMinutes(20)));
        var bytes = Convert.FromBase64String(chain.Replace('-', '+').Replace('_', '/') + new string('=', (4 - chain.Length % 4) % 4));
        var verifier = Verifier(_clock, Root);
        var mutations = Gen.Select(Gen.Int[0, bytes.Length - 1], Gen.Byte, Gen.Int[0, 3], (at, value, kind) => (at, value, kind));
        var count = await Fuzz.RunAsync(mutations, async m =>
        {
            var mutated = m.kind switch
            {
                0 => Replace(bytes, m.at, m.value),
                1 => bytes[..m.at],
                2 => [.. bytes[..m.at], m.value, .. bytes[m.at..]],
                _ => Replace(bytes, m.at, (byte)(bytes[m.at] ^ (1 << (m.value % 8)))),
            };
            var token = System.Buffers.Text.Base64Url.EncodeToString(mutated);
            await ExpectTokenOrCodeAsync(verifier, token, token, new AipAccessRequest("tool:search"));
        });
        output.WriteLine($"{count} mutated chained tokens");
    }

    [Fact]
    public async Task An_appended_block_of_any_AIP_shaped_Datalog_never_widens_the_authority()
    {
        var root = ChainedAttacks.HonestRoot(maxDepth: 3, budget: 500);
        var rootScopes = new[] { "tool:search", "tool:fetch" };
        var verifier = Verifier(_clock, Root);
        var verified = 0;
        var count = await Fuzz.RunAsync(AppendedBlock, async code =>
        {
            string token;
            try
            {
                token = RawBiscuit.Text(RawBiscuit.FirstParty(root, code));
            }
            catch (Aim.Biscuit.BiscuitException)
            {
                return; // not valid Datalog for the builder: nothing to verify
            }

            var tool = code.Contains("tool:fetch", StringComparison.Ordinal) ? "tool:fetch" : "tool:search";
            var result = await ExpectTokenOrCodeAsync(verifier, token, code, new AipAccessRequest(tool));
            if (result is { } v)
            {
                verified++;
                Assert.True(AipScope.IsSubset(v.Scopes, rootScopes), $"widened scope {string.Join(",", v.Scopes)} from {code}");
                Assert.True(v.BudgetUsd is { } b && b <= 5m, $"budget {v.BudgetUsd} from {code}");
                Assert.True(v.ExpiresAt <= ChainedAttacks.RootExpiry, $"expiry {v.ExpiresAt} from {code}");
            }
        });
        output.WriteLine($"{count} appended blocks, {verified} of them verified (none wider than the authority)");
        Assert.True(verified > 0, "the generator should also produce honest blocks that verify");
    }

    // Appended blocks in AIP's vocabulary with random values and checks (honest ones among them).
    private static Gen<string> Mostly(string honest, params string[] others) =>
        Gen.Frequency((3 * others.Length, Gen.Const(honest)), (others.Length, Gen.OneOf(others)));

    private static readonly Gen<string> AppendedBlock = Gen.Select(
        Mostly(Id(Root), Id(Agent), "aip:web:example.com/x", ""),
        Mostly(Id(Agent), "bob", Id(Root)),
        Mostly("plan", " ", ""),
        Mostly("[\"tool:search\"]", "[\"tool:search\", \"tool:fetch\"]", "[\"tool:delete\"]", "[]", "{\"tool:search\"}", "[\"tool:*\"]", "[\"tool:fetch\"]"),
        Mostly("", " or tool($t), $t.starts_with(\"tool:\")", " or tool($t)", " or tool($t), $t.starts_with(\"tool:s\")"),
        Gen.Frequency((3, Gen.Const(Array.Empty<string>())), (3, Gen.Int[-5, 900].Select(b => new[] { b.ToString(CultureInfo.InvariantCulture) })),
            (1, Gen.Int[0, 900].Select(b => b.ToString(CultureInfo.InvariantCulture)).Array[2])),
        Mostly("", "check if time($t), $t <= 2026-11-21T12:10:00Z;", "check if time($t), $t <= 2030-01-01T00:00:00Z;", "check if true;"),
        Mostly("", "right(\"tool:delete\");", "max_depth(9);", "principal(\"p\");", "identity(\"x\");", "status(\"done\");", "context(\"again\");",
            "r($x) <- tool($x);", "budget_ceiling(null);"),
        (delegator, @delegate, context, literals, patterns, budgets, time, extra) =>
        {
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"delegator(\"{delegator}\");delegate(\"{@delegate}\");");
            if (context.Length > 0 || delegator.Length > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"context(\"{context}\");");
            }

            foreach (var b in budgets)
            {
                sb.Append(CultureInfo.InvariantCulture, $"budget_ceiling({b});");
            }

            sb.Append(CultureInfo.InvariantCulture, $"check if tool($t), {literals}.contains($t){patterns};");
            return sb.Append(time).Append(extra).ToString();
        });

    private static Gen<(int At, int Kind, char Value, int Length)> Mutation(int length, string alphabet) =>
        Gen.Select(Gen.Int[0, length - 1], Gen.Int[0, 4], Gen.Int[0, alphabet.Length - 1].Select(i => alphabet[i]), Gen.Int[1, 40]);

    private static string Apply(string token, (int At, int Kind, char Value, int Length) m) => m.Kind switch
    {
        0 => token[..m.At] + m.Value + token[(m.At + 1)..],
        1 => token[..m.At],
        2 => token[..m.At] + m.Value + token[m.At..],
        3 => token[..m.At] + token[Math.Min(token.Length, m.At + m.Length)..],
        _ => token + token[..Math.Min(token.Length, m.Length)],
    };

    private static byte[] Replace(byte[] bytes, int at, byte value)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] = value;
        return copy;
    }

    private static async Task<AipVerifiedToken?> ExpectTokenOrCodeAsync(AipVerifier verifier, string token, string input, AipAccessRequest? request = null)
    {
        try
        {
            return await verifier.VerifyAsync(token, request);
        }
        catch (AipException e)
        {
            Assert.True(Codes.Contains(e.Code), $"unknown code {e.Code} for {input}");
            return null;
        }
        catch (Exception e)
        {
            Assert.Fail($"{e.GetType().Name} ({e.Message}) for input {input}");
            return null;
        }
    }

    private static void ExpectDecodeOrCode(string token)
    {
        try
        {
            CompactToken.Decode(token);
        }
        catch (AipException e)
        {
            Assert.Contains(e.Code, Codes);
        }
    }
}

/// <summary>
/// Runs a CsCheck generator a fixed number of times from a fixed seed, so CI sees the same inputs every run. Defaults:
/// 1,000 iterations, seed 16; <c>AIM_FUZZ_ITERATIONS</c> and <c>AIM_FUZZ_SEED</c> change them for a longer or another run.
/// </summary>
internal static class Fuzz
{
    public static int Iterations => Env("AIM_FUZZ_ITERATIONS", 1000);

    private static ulong Seed => (ulong)Env("AIM_FUZZ_SEED", 16);

    public static async Task<int> RunAsync<T>(Gen<T> gen, Func<T, Task> check)
    {
        var pcg = new PCG(1, Seed);
        var n = Iterations;
        for (var i = 0; i < n; i++)
        {
            await check(gen.Generate(pcg, null, out _));
        }

        return n;
    }

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}
