using Aim.Biscuit.Datalog;
using Aim.Biscuit.Parser;

namespace Aim.Biscuit.Tests;

public sealed class DatalogTests
{
    [Fact]
    public void Parser_and_printer_round_trip_every_sample_block()
    {
        if (!Samples.RequireOrFailInCi()) return;
        foreach (var testCase in Samples.TestCases)
        {
            foreach (var block in testCase["token"]!.AsArray())
            {
                var code = (string)block!["code"]!;
                var source = DatalogParser.Parse(code, allowPolicies: false);
                Assert.Equal(code, Block.Print(source.Scopes, source.Facts, source.Rules, source.Checks));
            }
        }
    }

    [Fact]
    public void Parsed_sample_blocks_need_the_version_they_declare()
    {
        if (!Samples.RequireOrFailInCi()) return;
        foreach (var testCase in Samples.TestCases)
        {
            foreach (var block in testCase["token"]!.AsArray())
            {
                var source = DatalogParser.Parse((string)block!["code"]!, allowPolicies: false);
                var version = Block.RequiredVersion(source.Facts, source.Rules, source.Checks, source.Scopes, block["external_key"] is not null);
                Assert.Equal((uint)block["version"]!, version);
            }
        }
    }

    private static int Run(string code)
    {
        var authorizer = new Authorizer { Limits = ConformanceTests.ConformanceLimits };
        authorizer.AddCode(code);
        return authorizer.Authorize();
    }

    [Theory]
    [InlineData("check if 9223372036854775807 + 1 == 0; allow if true;", ExecutionErrorKind.Overflow)]
    [InlineData("check if -9223372036854775808 / -1 == 0; allow if true;", ExecutionErrorKind.Overflow)]
    [InlineData("check if 1 / 0 == 0; allow if true;", ExecutionErrorKind.DivideByZero)]
    [InlineData("check if 1 === \"a\"; allow if true;", ExecutionErrorKind.InvalidType)]
    [InlineData("check if 1 + \"a\" == 2; allow if true;", ExecutionErrorKind.InvalidType)]
    [InlineData("check if 1; allow if true;", ExecutionErrorKind.InvalidType)]
    [InlineData("check if $x > 1; allow if true;", ExecutionErrorKind.UnknownVariable)]
    [InlineData("check if 1.extern::missing(); allow if true;", ExecutionErrorKind.UndefinedExtern)]
    [InlineData("allow if [1].any($p -> [2].all($p -> true));", ExecutionErrorKind.ShadowedVariable)]
    public void Expression_errors_stop_authorization_with_a_typed_error(string code, ExecutionErrorKind kind)
    {
        var e = Assert.Throws<BiscuitExecutionException>(() => Run(code));
        Assert.Equal(kind, e.Kind);
    }

    [Theory]
    [InlineData("check if 1 == \"a\" || true;")]
    [InlineData("check if false && 1 / 0 == 0 || true;")]
    [InlineData("check if \"abc\".length() === 3, hex:0102.length() == 2, [1, 2].length() == 2, {\"a\": 1}.length() == 1;")]
    [InlineData("check if {1, 2}.contains({1}), !{1, 2}.contains(3), \"abc\".contains(\"b\"), [1, \"a\"].contains(\"a\"), {\"k\": 1}.contains(\"k\");")]
    [InlineData("check if [1, 2, 3].starts_with([1]), [1, 2, 3].ends_with([2, 3]), \"abc\".starts_with(\"a\"), \"abc\".ends_with(\"c\");")]
    [InlineData("check if 6 & 3 == 2, 6 | 3 == 7, 6 ^ 3 == 5, 7 - 2 * 3 == 1, (7 - 2) * 3 == 15;")]
    [InlineData("check if 2020-01-01T00:00:00Z < 2020-01-01T00:00:01Z, 2020-01-01T01:00:00+01:00 == 2020-01-01T00:00:00Z;")]
    [InlineData("check if {\"a\": [1, {\"b\": null}]}.get(\"a\").get(1).get(\"b\") == null, [1].get(-1) == null;")]
    [InlineData("check if \"test\".extern::echo() == \"test\", 1.extern::echo(2) == 1;")]
    [InlineData("check if \"a\\\"b\" == \"a\" + \"\\\"\" + \"b\"; // comment\n/* block comment */")]
    public void Expressions_evaluate_as_specified(string code)
    {
        var authorizer = new Authorizer { Limits = ConformanceTests.ConformanceLimits };
        authorizer.RegisterExtern("echo", (left, _) => left);
        authorizer.AddCode(code + " allow if true;");
        Assert.Equal(0, authorizer.Authorize());
    }

    [Fact]
    public void Printed_expressions_parse_back_to_the_same_text()
    {
        const string code = "check if !(false && \"x\".intersection(\"x\")), {1, 2}.any($p -> $p > 1 && [3].all($q -> $q != $p)), 1 + 2 * 3 - 4 / 2 === 5, hex:00ff.type() == \"bytes\", true.extern::f(1)";
        var check = DatalogParser.ParseCheck(code);
        Assert.Equal(code, check.ToString());
        Assert.Equal(code, DatalogParser.ParseCheck(check.ToString()).ToString());
    }

    [Theory]
    [InlineData("a(")]
    [InlineData("a(1")]
    [InlineData("a($x);")]
    [InlineData("check a(1);")]
    [InlineData("allow a(1);")]
    [InlineData("a(1) <- ;")]
    [InlineData("a(\"unterminated);")]
    [InlineData("a(99999999999999999999);")]
    [InlineData("a(2020-13-45T00:00:00Z);")]
    [InlineData("a({x});")]
    [InlineData("check if a(1) trusting ed25519/zz;")]
    [InlineData("check if 1.unknown_method(2);")]
    [InlineData("a({1, {2}});")]
    [InlineData("a(hex:abc);")]
    public void Invalid_source_is_a_language_error(string code)
    {
        Assert.Throws<BiscuitLanguageException>(() => DatalogParser.Parse(code));
    }

    [Fact]
    public void Policies_are_refused_in_blocks()
    {
        Assert.Throws<BiscuitLanguageException>(() => new BlockBuilder().AddCode("allow if true;"));
    }

    [Fact]
    public void Parameters_fill_terms_and_scopes()
    {
        using var key = KeyPair.Generate();
        var rule = DatalogParser.ParseRule("a({v}, $x) <- b($x) trusting {k}",
            new Dictionary<string, Term> { ["v"] = Term.Bytes([1, 2]) }, new Dictionary<string, PublicKey> { ["k"] = key.PublicKey });
        Assert.Equal($"a(hex:0102, $x) <- b($x) trusting {key.PublicKey}", rule.ToString());
    }

    [Fact]
    public void Terms_order_by_kind_then_value_and_sets_deduplicate()
    {
        var set = (SetTerm)Term.Set([Term.String("b"), Term.Integer(2), Term.String("a"), Term.Integer(2), Term.Bool(false)]);
        Assert.Equal("{2, \"a\", \"b\", false}", set.ToString());
        Assert.Equal("{,}", Term.Set([]).ToString());
        Assert.Equal("{1: \"x\", \"a\": true}", Term.Map([new(Term.String("a"), Term.Bool(true)), new(Term.Integer(1), Term.String("x"))]).ToString());
    }

    [Fact]
    public void Authorizer_query_returns_derived_facts()
    {
        var authorizer = new Authorizer { Limits = ConformanceTests.ConformanceLimits }.AddCode("user(\"alice\", 1); user(\"bob\", 2); admin($n) <- user($n, 1); allow if true;");
        authorizer.Authorize();
        var facts = authorizer.Query("x($n) <- admin($n)");
        Assert.Equal("x(\"alice\")", Assert.Single(facts).ToString());
    }
}
