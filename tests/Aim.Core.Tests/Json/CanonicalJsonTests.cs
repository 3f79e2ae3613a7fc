using System.Text;
using System.Text.Json.Nodes;
using Aim.Json;

namespace Aim.Core.Tests.Json;

public sealed class CanonicalJsonTests
{
    [Fact]
    public void Rfc8785_example_canonicalizes_exactly()
    {
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        const string expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        Assert.Equal(expected, CanonicalJson.Canonicalize(input));
    }

    [Theory]
    [InlineData("1e21", "1e+21")]
    [InlineData("1e20", "100000000000000000000")]
    [InlineData("999999999999999868928", "999999999999999900000")]
    [InlineData("1e-7", "1e-7")]
    [InlineData("0.000001", "0.000001")]
    [InlineData("-0", "0")]
    [InlineData("-0.0", "0")]
    [InlineData("333333333.33333329", "333333333.3333333")]
    [InlineData("4.50", "4.5")]
    [InlineData("2e-3", "0.002")]
    [InlineData("9007199254740992", "9007199254740992")]
    [InlineData("5e-324", "5e-324")]
    [InlineData("1.7976931348623157e308", "1.7976931348623157e+308")]
    [InlineData("-1.5", "-1.5")]
    [InlineData("123456789012345678901234", "1.2345678901234569e+23")]
    [InlineData("0.1", "0.1")]
    [InlineData("0.30000000000000004", "0.30000000000000004")]
    [InlineData("1180591620717411303424", "1.1805916207174113e+21")]
    [InlineData("0.3333333333333333", "0.3333333333333333")]
    [InlineData("123e-20", "1.23e-18")]
    [InlineData("100", "100")]
    [InlineData("1E2", "100")]
    [InlineData("-0.0000001234", "-1.234e-7")]
    public void Numbers_use_ecmascript_form(string input, string expected)
    {
        Assert.Equal(expected, CanonicalJson.Canonicalize(input));
    }

    [Fact]
    public void Keys_are_sorted_by_utf16_code_units()
    {
        const string input = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
        var canonical = CanonicalJson.Canonicalize(input);
        var keys = JsonNode.Parse(canonical)!.AsObject().Select(p => p.Key).ToArray();
        Assert.Equal(new[] { "\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33" }, keys);
        Assert.StartsWith("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\"", canonical);
    }

    [Fact]
    public void Strings_use_minimal_escaping()
    {
        var node = new JsonObject { ["s"] = "<tag> & 'quote' \"dq\" \\ / \u001f \b\f\n\r\t é 😀" };
        var text = Encoding.UTF8.GetString(CanonicalJson.Serialize(node));
        Assert.Equal("{\"s\":\"<tag> & 'quote' \\\"dq\\\" \\\\ / \\u001f \\b\\f\\n\\r\\t é 😀\"}", text);
    }

    [Fact]
    public void Serialize_handles_nested_nodes_and_clr_values()
    {
        var node = new JsonObject
        {
            ["z"] = new JsonArray(1, 2.5, "x", true, null, new JsonObject { ["b"] = 1, ["a"] = 2 }),
            ["a"] = 4.50m,
            ["m"] = JsonValue.Create(long.MaxValue),
            ["g"] = JsonNode.Parse("{\"y\": 1.0, \"x\": [ ] }"),
        };
        var text = Encoding.UTF8.GetString(CanonicalJson.Serialize(node));
        Assert.Equal("{\"a\":4.5,\"g\":{\"x\":[],\"y\":1},\"m\":9223372036854776000,\"z\":[1,2.5,\"x\",true,null,{\"a\":2,\"b\":1}]}", text);
    }

    [Fact]
    public void Serialize_null_gives_null_literal()
    {
        Assert.Equal("null", Encoding.UTF8.GetString(CanonicalJson.Serialize(null)));
    }

    [Fact]
    public void Canonical_output_is_a_fixed_point()
    {
        const string input = "{ \"b\" : [ 1 , { \"d\": 1e3, \"c\": \"\\u0041\" } ], \"a\": -0.5 }";
        var once = CanonicalJson.Canonicalize(input);
        Assert.Equal(once, CanonicalJson.Canonicalize(once));
        Assert.Equal("{\"a\":-0.5,\"b\":[1,{\"c\":\"A\",\"d\":1000}]}", once);
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("{\"a\":{\"b\":1,\"b\":1}}")]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{'a':1}")]
    [InlineData("")]
    [InlineData("[1] [2]")]
    [InlineData("\"\\ud800\"")]
    [InlineData("{\"\\udc00\":1}")]
    [InlineData("// comment\n1")]
    public void Hostile_or_invalid_json_is_rejected(string input)
    {
        var ex = Assert.Throws<CanonicalJsonException>(() => CanonicalJson.Canonicalize(input));
        Assert.Equal("aim_json_invalid", ex.Code);
    }

    [Fact]
    public void Deep_nesting_is_rejected()
    {
        var input = new string('[', 200) + new string(']', 200);
        Assert.Throws<CanonicalJsonException>(() => CanonicalJson.Canonicalize(input));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Non_finite_numbers_in_nodes_are_rejected(double value)
    {
        var node = new JsonObject { ["n"] = value };
        Assert.Throws<CanonicalJsonException>(() => CanonicalJson.Serialize(node));
    }

    [Fact]
    public void Unpaired_surrogate_in_node_is_rejected()
    {
        var node = new JsonObject { ["s"] = "bad \ud800 string" };
        Assert.Throws<CanonicalJsonException>(() => CanonicalJson.Serialize(node));
    }

    [Fact]
    public void Null_string_argument_throws_argument_null()
    {
        Assert.Throws<ArgumentNullException>(() => CanonicalJson.Canonicalize(null!));
    }
}
