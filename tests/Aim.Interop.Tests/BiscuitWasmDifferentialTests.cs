using System.Globalization;
using System.Text.Json.Nodes;
using Aim.Biscuit;
using Aim.Biscuit.Datalog;
using Xunit.Abstractions;

namespace Aim.Interop.Tests;

/// <summary>
/// Differential tests against @biscuit-auth/biscuit-wasm 0.6.0 (biscuit-rust 6.0.0). For each generated case (seeded;
/// <c>AIM_INTEROP_CASES</c> raises the count from 300 per direction) one side mints a token from the generated blocks, the
/// other verifies it, both authorize it with the generated authorizer, the other side attenuates it with one more block, and
/// both authorize the result. Every outcome (allow policy index, or the error with its kind, failed checks and matched
/// policy) must be identical, and the block versions biscuit-rust writes must be the versions Aim.Biscuit writes for the
/// same Datalog. The test fails on any disagreement and prints the first ones.
/// </summary>
public sealed class BiscuitWasmDifferentialTests(NodeBridge bridge, ITestOutputHelper output) : IClassFixture<NodeBridge>
{
    private static readonly RunLimits Limits = new() { MaxFacts = 1000, MaxIterations = 100, MaxTime = TimeSpan.FromSeconds(5) };

    // What the compared outcomes were (so a run shows it exercised allows, denials and errors, not one kind).
    private readonly SortedDictionary<string, int> _tally = new(StringComparer.Ordinal);

    private static int CaseCount =>
        int.TryParse(Environment.GetEnvironmentVariable("AIM_INTEROP_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 300;

    [Fact]
    public void Tokens_minted_by_Aim_verify_attenuate_and_authorize_identically_in_biscuit_wasm()
    {
        using var root = KeyPair.Generate();
        var generator = new DatalogGenerator(seed: 16_001);
        var cases = Enumerable.Range(0, CaseCount).Select(generator.Next).ToList();
        var disagreements = new List<string>();

        // Aim mints; biscuit-wasm mints the same code too (both must refuse the same unparsable code).
        var minted = cases.Select(c => TryAim(() => Build(c.Blocks, root).ToBase64())).ToList();
        var wasmMint = bridge.Batch(cases.Select(c => Op("mint", ("root", root.ExportPrivateKeyString()), ("blocks", new JsonArray(c.Blocks.Select(b => (JsonNode)b!).ToArray())))).ToList());

        var requests = new List<JsonObject>();
        for (var i = 0; i < cases.Count; i++)
        {
            var mintAgreement = Compare(disagreements, cases[i], "mint", minted[i].Outcome, wasmMint[i].ContainsKey("token") ? "ok" : Outcome.Of(wasmMint[i]["error"]!));
            if (minted[i].Value is not { } token || !mintAgreement)
            {
                continue;
            }

            requests.Add(Op("parse", ("token", token), ("root", root.PublicKey.ToString()), ("case", i)));
            requests.Add(Op("authorize", ("token", token), ("root", root.PublicKey.ToString()), ("authorizer", cases[i].Authorizer), ("case", i)));
            requests.Add(Op("attenuate", ("token", token), ("root", root.PublicKey.ToString()), ("block", cases[i].Attenuation), ("case", i)));
        }

        var answers = bridge.Batch(requests);
        var second = new List<JsonObject>();
        var aimSecond = new List<(int Case, string Outcome)>();
        for (var r = 0; r < requests.Count; r++)
        {
            var i = (int)requests[r]["case"]!;
            var c = cases[i];
            var token = minted[i].Value!;
            var answer = answers[r];
            switch ((string)requests[r]["op"]!)
            {
                case "parse":
                    Compare(disagreements, c, "verify", "ok", answer.ContainsKey("blocks") ? "ok" : Outcome.Of(answer["error"]!));
                    break;
                case "authorize":
                    Compare(disagreements, c, "authorize", Authorize(token, root.PublicKey, c.Authorizer), WasmAuthorization(answer));
                    break;
                default:
                    var aimAttenuated = TryAim(() => BiscuitToken.FromBase64(token, root.PublicKey).Attenuate(new BlockBuilder().AddCode(c.Attenuation)).ToBase64());
                    if (!Compare(disagreements, c, "attenuate", aimAttenuated.Outcome, answer.ContainsKey("token") ? "ok" : Outcome.Of(answer["error"]!)) ||
                        answer["token"] is null)
                    {
                        break;
                    }

                    // biscuit-wasm's attenuated token, read and authorized by both.
                    var attenuated = (string)answer["token"]!;
                    second.Add(Op("authorize", ("token", attenuated), ("root", root.PublicKey.ToString()), ("authorizer", c.Authorizer)));
                    aimSecond.Add((i, Authorize(attenuated, root.PublicKey, c.Authorizer)));
                    break;
            }
        }

        var secondAnswers = bridge.Batch(second);
        for (var k = 0; k < second.Count; k++)
        {
            Compare(disagreements, cases[aimSecond[k].Case], "authorize after biscuit-wasm attenuated", aimSecond[k].Outcome, WasmAuthorization(secondAnswers[k]));
        }

        Report(disagreements, cases.Count, requests.Count + second.Count);
    }

    [Fact]
    public void Tokens_minted_by_biscuit_wasm_verify_attenuate_and_authorize_identically_in_Aim()
    {
        using var root = KeyPair.Generate();
        var generator = new DatalogGenerator(seed: 16_002);
        var cases = Enumerable.Range(0, CaseCount).Select(generator.Next).ToList();
        var disagreements = new List<string>();

        var wasmMint = bridge.Batch(cases.Select(c => Op("mint", ("root", root.ExportPrivateKeyString()), ("blocks", new JsonArray(c.Blocks.Select(b => (JsonNode)b!).ToArray())))).ToList());
        var authorizeRequests = new List<JsonObject>();
        var attenuated = new List<(int Case, string Token)>();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var aimMint = TryAim(() => Build(c.Blocks, root));
            if (!Compare(disagreements, c, "mint", aimMint.Outcome, wasmMint[i].ContainsKey("token") ? "ok" : Outcome.Of(wasmMint[i]["error"]!)) || wasmMint[i]["token"] is null)
            {
                continue;
            }

            var token = (string)wasmMint[i]["token"]!;
            var parsed = TryAim(() => BiscuitToken.FromBase64(token, root.PublicKey));
            if (!Compare(disagreements, c, "verify", parsed.Outcome, "ok"))
            {
                continue;
            }

            // What biscuit-rust writes is what Aim.Biscuit writes: the same version for every block.
            var written = string.Join(",", parsed.Value!.Blocks.Select(b => b.Version));
            var ours = string.Join(",", aimMint.Value!.Blocks.Select(b => b.Version));
            Compare(disagreements, c, "block versions written", ours, written);

            authorizeRequests.Add(Op("authorize", ("token", token), ("root", root.PublicKey.ToString()), ("authorizer", c.Authorizer), ("case", i), ("aim", Authorize(token, root.PublicKey, c.Authorizer))));

            var aimAttenuated = TryAim(() => parsed.Value.Attenuate(new BlockBuilder().AddCode(c.Attenuation)).ToBase64());
            if (aimAttenuated.Value is { } more)
            {
                authorizeRequests.Add(Op("authorize", ("token", more), ("root", root.PublicKey.ToString()), ("authorizer", c.Authorizer), ("case", i), ("aim", Authorize(more, root.PublicKey, c.Authorizer)),
                    ("step", "authorize after Aim attenuated")));
                attenuated.Add((i, more));
            }
            else
            {
                // Aim refused to attenuate: biscuit-wasm must refuse the same block.
                authorizeRequests.Add(Op("attenuate", ("token", token), ("root", root.PublicKey.ToString()), ("block", c.Attenuation), ("case", i), ("aim", aimAttenuated.Outcome)));
            }
        }

        var answers = bridge.Batch(authorizeRequests);
        for (var r = 0; r < answers.Count; r++)
        {
            var request = authorizeRequests[r];
            var c = cases[(int)request["case"]!];
            var theirs = (string)request["op"]! == "attenuate"
                ? answers[r].ContainsKey("token") ? "ok" : Outcome.Of(answers[r]["error"]!)
                : WasmAuthorization(answers[r]);
            Compare(disagreements, c, (string?)request["step"] ?? (string)request["op"]!, (string)request["aim"]!, theirs);
        }

        Report(disagreements, cases.Count, wasmMint.Count + answers.Count);
    }

    private void Report(List<string> disagreements, int cases, int operations)
    {
        output.WriteLine($"{cases} cases, {operations} biscuit-wasm operations, {disagreements.Count} disagreements");
        foreach (var (kind, n) in _tally)
        {
            output.WriteLine($"  {kind}: {n}");
        }

        foreach (var d in disagreements.Take(15))
        {
            output.WriteLine(d);
        }

        Assert.True(disagreements.Count == 0, $"{disagreements.Count} disagreements with biscuit-wasm; first: {disagreements.FirstOrDefault()}");
    }

    private bool Compare(List<string> disagreements, DatalogCase c, string step, string aim, string wasm)
    {
        var kind = aim.StartsWith("allow:", StringComparison.Ordinal) ? "allow" : aim.Split(' ')[0].Split('/') is [var a, var b, ..] ? a + "/" + b : aim;
        _tally[$"{step}: {kind}"] = _tally.GetValueOrDefault($"{step}: {kind}") + 1;
        if (string.Equals(aim, wasm, StringComparison.Ordinal))
        {
            return true;
        }

        disagreements.Add($"case {c.Index} {step}: Aim '{aim}' vs biscuit-wasm '{wasm}'\n  blocks: {string.Join(" || ", c.Blocks)}\n  attenuation: {c.Attenuation}\n  authorizer: {c.Authorizer}");
        return false;
    }

    private static BiscuitToken Build(IReadOnlyList<string> blocks, KeyPair root)
    {
        var token = BiscuitToken.CreateBuilder().AddCode(blocks[0]).Build(root);
        foreach (var block in blocks.Skip(1))
        {
            token = token.Attenuate(new BlockBuilder().AddCode(block));
        }

        return token;
    }

    private static string Authorize(string token, PublicKey root, string code)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var authorizer = new Authorizer { Limits = Limits }.AddCode(code).AddToken(BiscuitToken.FromBase64(token, root));
                return "allow:" + authorizer.Authorize().ToString(CultureInfo.InvariantCulture);
            }
            catch (BiscuitRunLimitException e) when (e.Kind == RunLimitKind.Timeout && attempt < 3)
            {
                // a loaded machine; retried like biscuit-wasm's runs
            }
            catch (BiscuitException e)
            {
                return Outcome.Of(e);
            }
        }
    }

    private static string WasmAuthorization(JsonObject answer) =>
        answer["policy"] is { } policy ? "allow:" + (int)policy : Outcome.Of(answer["error"]!);

    private static (T? Value, string Outcome) TryAim<T>(Func<T> action) where T : class
    {
        try
        {
            return (action(), "ok");
        }
        catch (BiscuitException e)
        {
            return (null, Outcome.Of(e));
        }
    }

    private static JsonObject Op(string op, params (string Key, JsonNode? Value)[] fields)
    {
        var o = new JsonObject { ["op"] = op };
        foreach (var (key, value) in fields)
        {
            o[key] = value;
        }

        return o;
    }
}
