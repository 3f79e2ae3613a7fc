using System.Text.Json.Nodes;
using Aim.Biscuit;
using Aim.Biscuit.Datalog;
using Xunit.Abstractions;

namespace Aim.Interop.Tests;

/// <summary>
/// Every operation below on a term of every type, in Aim.Biscuit and in biscuit-wasm: the result (true, false, or which
/// error) must be the same. This pins the type rules of biscuit-rust's evaluator, e.g. a set's <c>.contains(null)</c> is a
/// type error while a map's <c>.contains(null)</c> is false.
/// </summary>
public sealed class OperatorMatrixTests(NodeBridge bridge, ITestOutputHelper output) : IClassFixture<NodeBridge>
{
    private static readonly string[] Terms =
        ["null", "5", "\"a\"", "[]", "[1, \"a\"]", "{\"k\": 1, 2: null}", "true", "{1, 2}", "{\"a\", \"b\"}", "hex:0a", "2020-01-01T00:00:00Z"];

    private static readonly string[] Expressions =
    [
        "$v.contains(1)", "$v.contains(\"a\")", "$v.contains(null)", "$v.contains([1])", "$v.contains({1})", "$v.length() > 1",
        "$v.any($w -> $w == 1)", "$v.all($w -> $w == 1)", "$v == 1", "$v === 1", "$v !== null", "$v != null", "$v.type() == \"set\"",
        "$v.starts_with(\"a\")", "$v.ends_with([1])", "$v.get(0) == 1", "$v.get(\"k\") == 1", "$v.intersection({1}) == {1}",
        "$v.union({3}).length() == 3", "$v < 3", "$v + 1 == 6", "!$v", "$v && true", "$v.matches(\"a\")",
    ];

    [Fact]
    public void Every_operation_on_every_term_type_gives_the_same_result()
    {
        using var root = KeyPair.Generate();
        var limits = new RunLimits { MaxFacts = 1000, MaxIterations = 100, MaxTime = TimeSpan.FromSeconds(5) };
        var requests = new List<JsonObject>();
        var aim = new List<string>();
        foreach (var term in Terms)
        {
            var token = BiscuitToken.CreateBuilder().AddCode($"s({term});").Build(root).ToBase64();
            foreach (var expression in Expressions)
            {
                var code = $"check if s($v), {expression}; allow if true;";
                try
                {
                    aim.Add("allow:" + new Authorizer { Limits = limits }.AddCode(code).AddToken(BiscuitToken.FromBase64(token, root.PublicKey)).Authorize());
                }
                catch (BiscuitException e)
                {
                    aim.Add(Outcome.Of(e));
                }

                requests.Add(new JsonObject { ["op"] = "authorize", ["token"] = token, ["root"] = root.PublicKey.ToString(), ["authorizer"] = code });
            }
        }

        var answers = bridge.Batch(requests);
        var mismatches = new List<string>();
        for (var i = 0; i < answers.Count; i++)
        {
            var wasm = answers[i]["policy"] is { } p ? "allow:" + (int)p : Outcome.Of(answers[i]["error"]!);
            if (wasm != aim[i])
            {
                mismatches.Add($"{requests[i]["authorizer"]} with s({Terms[i / Expressions.Length]}): Aim '{aim[i]}' vs biscuit-wasm '{wasm}'");
            }
        }

        output.WriteLine($"{answers.Count} term/operation pairs, {mismatches.Count} mismatches");
        mismatches.ForEach(output.WriteLine);
        Assert.Empty(mismatches);
    }
}
