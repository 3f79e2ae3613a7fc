using System.Text.Json.Nodes;
using Aim.Biscuit.Datalog;

namespace Aim.Biscuit.Tests;

/// <summary>
/// Runs every case of the official samples: parse and verify with the root key, compare blocks and
/// revocation ids, run each validation's authorizer code, compare the result and the printed world.
/// The time limit is raised to 5 s here (the 1 ms default is too tight on a loaded 2-core CI machine running tests in parallel, where a cold regex compilation alone can take most of a second);
/// the limit itself is tested in RunLimitTests.
/// </summary>
public sealed class ConformanceTests
{
    internal static readonly RunLimits ConformanceLimits = RunLimits.Default with { MaxTime = TimeSpan.FromSeconds(5) };

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        if (!Samples.Available)
        {
            data.Add("(samples missing)");
            return data;
        }
        foreach (var c in Samples.TestCases) data.Add((string)c["filename"]!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sample_matches_reference_results(string filename)
    {
        if (!Samples.RequireOrFailInCi()) return;
        var testCase = Samples.TestCases.Single(c => (string)c["filename"]! == filename);
        var bytes = Samples.Token(filename);

        foreach (var (name, validationNode) in testCase["validations"]!.AsObject())
        {
            var validation = validationNode!.AsObject();
            var expectedResult = validation["result"]!;
            var expectedWorld = validation["world"];

            BiscuitToken token;
            try
            {
                token = BiscuitToken.FromBytes(bytes, Samples.RootPublicKey);
            }
            catch (BiscuitException e)
            {
                AssertJson(expectedResult, new JsonObject { ["Err"] = ErrorJson.From(e) }, $"{filename}[{name}] parse");
                Assert.True(expectedWorld is null, $"{filename}[{name}]: parse failed but a world was expected");
                continue;
            }

            AssertBlocks(testCase["token"]!.AsArray(), token, filename);
            var expectedIds = validation["revocation_ids"]!.AsArray().Select(n => (string)n!).ToList();
            Assert.Equal(expectedIds, token.RevocationIds.Select(Convert.ToHexStringLower).ToList());

            var authorizer = new Authorizer { Limits = ConformanceLimits };
            authorizer.RegisterExtern("test", TestExtern);
            JsonNode actualResult;
            try
            {
                authorizer.AddCode((string)validation["authorizer_code"]!);
                authorizer.AddToken(token);
                actualResult = new JsonObject { ["Ok"] = authorizer.Authorize() };
            }
            catch (BiscuitException e)
            {
                actualResult = new JsonObject { ["Err"] = ErrorJson.From(e) };
            }
            AssertJson(expectedResult, actualResult, $"{filename}[{name}] result");

            if (expectedWorld is not null)
                AssertJson(expectedWorld, WorldJson(authorizer.Snapshot()), $"{filename}[{name}] world");
        }
    }

    /// <summary>The extern function the reference sample generator registers.</summary>
    internal static Term TestExtern(Term left, Term? right) => (left, right) switch
    {
        (_, null) => left,
        (StringTerm l, StringTerm r) => Term.String(l.Value == r.Value ? "equal strings" : "different strings"),
        _ => throw new InvalidOperationException("unsupported operands"),
    };

    private static void AssertBlocks(JsonArray expected, BiscuitToken token, string filename)
    {
        Assert.Equal(expected.Count, token.Blocks.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i]!.AsObject();
            var b = token.Blocks[i];
            Assert.Equal((string)e["code"]!, b.ToString());
            Assert.Equal((uint)e["version"]!, b.Version);
            Assert.Equal(e["symbols"]!.AsArray().Select(n => (string)n!).ToList(), b.Symbols.ToList());
            Assert.Equal(e["public_keys"]!.AsArray().Select(n => (string)n!).ToList(), b.PublicKeys.Select(k => k.ToString()).ToList());
            Assert.Equal((string?)e["external_key"], b.ExternalKey?.ToString());
        }
    }

    internal static JsonObject WorldJson(AuthorizerWorld world) => new()
    {
        ["facts"] = new JsonArray(world.Facts.Select(f => (JsonNode)new JsonObject
        {
            ["origin"] = new JsonArray(f.Origin.Select(o => o is null ? null : (JsonNode)JsonValue.Create(o.Value)).ToArray()),
            ["facts"] = new JsonArray(f.Facts.Select(s => (JsonNode)JsonValue.Create(s)).ToArray()),
        }).ToArray()),
        ["rules"] = Statements(world.Rules, "rules"),
        ["checks"] = Statements(world.Checks, "checks"),
        ["policies"] = new JsonArray(world.Policies.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
    };

    private static JsonArray Statements(IReadOnlyList<WorldStatements> groups, string key) =>
        new(groups.Select(g => (JsonNode)new JsonObject
        {
            ["origin"] = g.Origin,
            [key] = new JsonArray(g.Items.Select(s => (JsonNode)JsonValue.Create(s)).ToArray()),
        }).ToArray());

    internal static void AssertJson(JsonNode? expected, JsonNode? actual, string context)
    {
        var e = expected?.ToJsonString() ?? "null";
        var a = actual?.ToJsonString() ?? "null";
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{context}\nexpected: {e}\nactual:   {a}");
    }
}

/// <summary>Maps our exceptions to the JSON shape of the reference error tree used in samples.json.</summary>
internal static class ErrorJson
{
    internal static JsonNode From(BiscuitException e) => e switch
    {
        BiscuitFormatException { Kind: FormatErrorKind.InvalidSignature or FormatErrorKind.InvalidSignatureGeneration } f =>
            new JsonObject { ["Format"] = new JsonObject { ["Signature"] = new JsonObject { [f.Kind.ToString()] = f.Message } } },
        BiscuitFormatException f => new JsonObject { ["Format"] = new JsonObject { [f.Kind.ToString()] = f.Message } },
        BiscuitLogicException { Kind: LogicErrorKind.InvalidBlockRule } l =>
            new JsonObject { ["FailedLogic"] = new JsonObject { ["InvalidBlockRule"] = new JsonArray(l.BlockId, l.Rule) } },
        BiscuitLogicException { Kind: LogicErrorKind.Unauthorized } l => new JsonObject
        {
            ["FailedLogic"] = new JsonObject
            {
                ["Unauthorized"] = new JsonObject
                {
                    ["policy"] = new JsonObject { [l.Policy!.Value.Kind.ToString()] = l.Policy.Value.Index },
                    ["checks"] = Checks(l.FailedChecks),
                },
            },
        },
        BiscuitLogicException { Kind: LogicErrorKind.NoMatchingPolicy } l =>
            new JsonObject { ["FailedLogic"] = new JsonObject { ["NoMatchingPolicy"] = new JsonObject { ["checks"] = Checks(l.FailedChecks) } } },
        BiscuitLogicException l => new JsonObject { ["FailedLogic"] = l.Kind.ToString() },
        BiscuitExecutionException x when x.Detail is null => new JsonObject { ["Execution"] = x.Kind.ToString() },
        BiscuitExecutionException x => new JsonObject { ["Execution"] = new JsonObject { [x.Kind.ToString()] = x.Detail } },
        BiscuitRunLimitException r => new JsonObject { ["RunLimit"] = r.Kind.ToString() },
        _ => new JsonObject { [e.GetType().Name] = e.Message },
    };

    private static JsonArray Checks(IReadOnlyList<FailedCheck> checks) => new(checks.Select(c => (JsonNode)(c switch
    {
        FailedBlockCheck b => new JsonObject { ["Block"] = new JsonObject { ["block_id"] = b.BlockId, ["check_id"] = b.CheckId, ["rule"] = b.Rule } },
        _ => new JsonObject { ["Authorizer"] = new JsonObject { ["check_id"] = c.CheckId, ["rule"] = c.Rule } },
    })).ToArray());
}
