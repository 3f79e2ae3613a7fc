using System.Globalization;
using Aim.Biscuit.Datalog;
using Aim.Biscuit.Parser;
using CsCheck;
using Xunit.Abstractions;

namespace Aim.Biscuit.Tests;

/// <summary>
/// Property-based and mutation tests (CsCheck generators, fixed seed; <c>AIM_FUZZ_ITERATIONS</c> and <c>AIM_FUZZ_SEED</c>
/// for a longer or another run): Datalog text assembled from the language's own tokens, and mutated token bytes, only
/// ever raise <see cref="BiscuitException"/>s, through the parser, the decoder, the signature checks and the engine.
/// </summary>
public sealed class PropertyTests(ITestOutputHelper output)
{
    private static readonly string[] Tokens =
    [
        "check if ", "check all ", "reject if ", "allow if ", "deny if ", "<-", ";", ",", "(", ")", "[", "]", "{", "}", "{,}", ":", " ",
        "p", "q", "right", "$x", "$y", "1", "-3", "9223372036854775807", "\"a\"", "\"\\\"\"", "true", "null", "hex:0a", "2026-01-01T00:00:00Z",
        " == ", " === ", " != ", " !== ", " < ", " + ", " * ", " / ", " && ", " || ", "!", ".contains(", ".starts_with(", ".length()",
        ".type()", ".get(", ".any(", ".all(", "$w -> ", ".matches(", "\"^a+$\"", ".intersection(", " trusting ", "authority", "previous",
        "ed25519/", "{p}", ".extern::f(", "\n", "//c\n", "/*", "*/",
    ];

    private static readonly string[] Terms =
    [
        "$x", "$y", "1", "-3", "9223372036854775807", "\"a\"", "\"tool:x\"", "true", "null", "hex:0a0b", "2026-01-01T00:00:00Z", "[1, \"a\"]", "[]",
        "{1, 2}", "{\"a\", \"b\"}", "{,}", "{\"k\": 1, 2: [null]}", "{ null }",
    ];

    private static readonly string[] Operators =
    [
        "A == B", "A === B", "A != B", "A !== B", "A < B", "A >= B", "A + B == A", "A * B > 0", "A / B == 1", "A && B", "A || B", "!A",
        "A.contains(B)", "A.starts_with(B)", "A.ends_with(B)", "A.length() == 2", "A.type() == \"set\"", "A.get(B) == null",
        "A.any($w -> $w == B)", "A.all($w -> $w != B)", "A.intersection(B) == A", "A.union(B).contains(B)", "A.matches(\"^a\")", "A | B == 3",
    ];

    private static readonly string[] Statements =
    [
        "p(T);", "q(T, T);", "right(\"a\", T);", "h($x) <- p($x), E;", "h($x) <- p($x), q($x, $y), E;", "check if p($x), E;", "check if E;",
        "check all p($x), E;", "reject if p($x), E;", "check if q($x, $y), E trusting authority, previous;", "allow if p($x), E;", "deny if E;",
        "allow if true;", "check if p($x) or q($x, $y), E;",
    ];

    [Fact]
    public void Datalog_assembled_from_the_languages_tokens_parses_or_raises_a_language_error_and_authorizes_or_raises_a_Biscuit_error()
    {
        using var root = KeyPair.Generate();
        // Statements from templates with random terms and expressions, then (half the time) a few of the language's tokens
        // inserted, deleted or swapped in, so most inputs are near-valid Datalog and reach the engine.
        var term = Gen.OneOf(Terms.Select(Gen.Const).ToArray());
        var expression = Gen.Select(term, Gen.OneOf(Operators.Select(Gen.Const).ToArray()), term, (a, op, b) => op.Replace("A", a).Replace("B", b));
        var statement = Gen.Select(Gen.OneOf(Statements.Select(Gen.Const).ToArray()), term, expression, (t, a, e) => t.Replace("T", a).Replace("E", e));
        var edits = Gen.Select(Gen.Int[0, 2], Gen.Int[0, 400], Gen.Int[0, Tokens.Length - 1]).Array[0, 3];
        var gen = Gen.Select(statement.Array[1, 6], Gen.Bool, edits, (statements, edit, changes) =>
        {
            var code = string.Join("\n", statements);
            if (!edit)
            {
                return code;
            }

            foreach (var (kind, at, token) in changes)
            {
                var i = Math.Min(at, code.Length);
                code = kind switch
                {
                    0 => code.Insert(i, Tokens[token]),
                    1 => i < code.Length ? code.Remove(i, 1) : code,
                    _ => code[..i] + Tokens[token] + code[Math.Min(code.Length, i + Tokens[token].Length)..],
                };
            }

            return code;
        });
        int parsed = 0, authorized = 0;
        var count = Fuzz.Run(gen, code =>
        {
            DatalogSource source;
            try
            {
                source = DatalogParser.Parse(code, allowPolicies: true);
                parsed++;
            }
            catch (BiscuitLanguageException)
            {
                return;
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} ({e.Message}) parsing {code}");
                return;
            }

            try
            {
                var authorizer = new Authorizer { Limits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(1) } };
                if (source.Policies.Count == 0)
                {
                    authorizer.AddToken(BiscuitToken.CreateBuilder().AddCode(code).Build(root)).AddCode("allow if true;");
                }
                else
                {
                    authorizer.AddCode(code);
                }

                authorizer.Authorize();
                authorized++;
            }
            catch (BiscuitException)
            {
                // a typed refusal
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} ({e.Message}) running {code}");
            }
        });
        output.WriteLine($"{count} generated sources, {parsed} parsed, {authorized} authorized");
    }

    [Fact]
    public void Mutated_token_bytes_verify_or_raise_a_Biscuit_error()
    {
        using var root = KeyPair.Generate();
        var token = BiscuitToken.CreateBuilder().AddCode("right(\"a\", [1, {\"k\": null}]); check if time($t), $t < 2030-01-01T00:00:00Z;").Build(root)
            .Attenuate(new BlockBuilder().AddCode("check if right($r, $v), $v.length() == 2;"));
        var bytes = token.ToBytes();
        var gen = Gen.Select(Gen.Int[0, bytes.Length - 1], Gen.Byte, Gen.Int[0, 3], Gen.Int[1, 64]);
        var verified = 0;
        var count = Fuzz.Run(gen, m =>
        {
            var (at, value, kind, length) = m;
            var mutated = kind switch
            {
                0 => Set(bytes, at, value),
                1 => bytes[..at],
                2 => [.. bytes[..at], value, .. bytes[at..]],
                _ => [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + length)..]],
            };
            try
            {
                var parsed = BiscuitToken.FromBytes(mutated, root.PublicKey);
                verified++;
                new Authorizer { Limits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(1) } }.AddToken(parsed).AddCode("allow if true;").Authorize();
            }
            catch (BiscuitException)
            {
                // a typed refusal
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} ({e.Message}) for mutation {m}");
            }

            try
            {
                var unverified = BiscuitToken.FromBytesUnverified(mutated);
                _ = unverified.ToString();
            }
            catch (BiscuitException)
            {
                // a typed refusal
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} ({e.Message}) decoding mutation {m} unverified");
            }
        });
        output.WriteLine($"{count} mutated tokens, {verified} still verified");
    }

    private static byte[] Set(byte[] bytes, int at, byte value)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] = value;
        return copy;
    }
}

/// <summary>Runs a CsCheck generator a fixed number of times from a fixed seed (1,000 and 16 unless <c>AIM_FUZZ_ITERATIONS</c> / <c>AIM_FUZZ_SEED</c> say otherwise).</summary>
internal static class Fuzz
{
    public static int Run<T>(Gen<T> gen, Action<T> check)
    {
        var pcg = new PCG(1, (ulong)Env("AIM_FUZZ_SEED", 16));
        var n = Env("AIM_FUZZ_ITERATIONS", 1000);
        for (var i = 0; i < n; i++)
        {
            check(gen.Generate(pcg, null, out _));
        }

        return n;
    }

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}
