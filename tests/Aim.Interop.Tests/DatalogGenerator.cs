using System.Globalization;
using System.Text;

namespace Aim.Interop.Tests;

/// <summary>One generated case: the blocks of a token, one more block to attenuate it with, and an authorizer.</summary>
internal sealed record DatalogCase(int Index, IReadOnlyList<string> Blocks, string Attenuation, string Authorizer);

/// <summary>
/// Seeded generator of Biscuit Datalog that both implementations parse: facts over every term type (integers, strings,
/// dates, bytes, booleans, sets, arrays, maps, null), rules, <c>check if</c> / <c>check all</c> / <c>reject if</c>, and
/// expressions over them (comparisons, arithmetic that may overflow or divide by zero, string and collection methods,
/// <c>==</c>/<c>!=</c>/<c>===</c>, closures, <c>.type()</c>, <c>.get()</c>). Blocks whose only newer feature is an
/// array or a map are what biscuit-rust writes as version 3, the family where Aim.Biscuit used to disagree.
/// </summary>
internal sealed class DatalogGenerator(int seed)
{
    private static readonly string[] Strings = ["a", "b", "x", "bad", "tool:search", "tool:fetch"];
    private static readonly string[] Dates = ["2026-11-21T12:00:00Z", "2020-01-01T00:00:00Z", "2030-06-15T08:30:00Z"];
    private readonly Random _random = new(seed);

    public DatalogCase Next(int index)
    {
        var blocks = new List<string> { Block(authority: true) };
        var extra = _random.Next(3);
        for (var i = 0; i < extra; i++)
        {
            blocks.Add(Block(authority: false));
        }

        return new DatalogCase(index, blocks, Block(authority: false), Authorizer());
    }

    private string Block(bool authority)
    {
        var sb = new StringBuilder();
        var facts = _random.Next(authority ? 2 : 0, 6);
        for (var i = 0; i < facts; i++)
        {
            sb.Append(Fact()).Append(";\n");
        }

        if (_random.Next(3) == 0)
        {
            sb.Append(Rule()).Append(";\n");
        }

        var checks = _random.Next(0, 3);
        for (var i = 0; i < checks; i++)
        {
            sb.Append(Check()).Append(";\n");
        }

        return sb.Length == 0 ? "p(0);\n" : sb.ToString();
    }

    private string Authorizer()
    {
        var sb = new StringBuilder();
        sb.Append("operation(").Append(Str()).Append(");\n");
        if (_random.Next(2) == 0)
        {
            sb.Append(Fact()).Append(";\n");
        }

        if (_random.Next(2) == 0)
        {
            sb.Append(Check()).Append(";\n");
        }

        var policies = _random.Next(1, 3);
        for (var i = 0; i < policies; i++)
        {
            var kind = _random.Next(3) == 0 ? "deny" : "allow";
            sb.Append(kind).Append(" if ").Append(Body()).Append(";\n");
        }

        if (_random.Next(2) == 0)
        {
            sb.Append("allow if true;\n");
        }

        return sb.ToString();
    }

    private string Fact() => _random.Next(6) switch
    {
        0 => $"p({Int()})",
        1 => $"q({Str()})",
        2 => $"r({Int()}, {Str()})",
        3 => $"right({Str()})",
        _ => $"s({AnyTerm(depth: 0)})",
    };

    private string Rule() => _random.Next(3) switch
    {
        0 => "h($x) <- p($x), " + IntExpression("$x"),
        1 => "h($y) <- r($x, $y), " + IntExpression("$x"),
        _ => "g($v) <- s($v), " + AnyExpression("$v"),
    };

    private string Check()
    {
        var head = _random.Next(8) switch
        {
            0 => "check all",
            1 => "reject if",
            _ => "check if",
        };
        return head + " " + Body();
    }

    private string Body() => _random.Next(9) switch
    {
        0 => "p($x), " + IntExpression("$x"),
        1 => "q($s), " + StringExpression("$s"),
        2 => "r($x, $s), " + IntExpression("$x") + ", " + StringExpression("$s"),
        3 => "s($v), " + AnyExpression("$v"),
        4 => "operation($s), " + StringExpression("$s"),
        5 => "h($x)",
        6 => "right($s), q($s)",
        _ => ConstantExpression(),
    };

    // Integer facts only; an overflow is made to happen for every binding or none ($x * 0 + ...), so the outcome does not
    // depend on the order in which an engine visits the facts (biscuit-rust visits them in hash order and stops at the first
    // binding that satisfies a check, or errs).
    private string IntExpression(string x) => _random.Next(10) switch
    {
        0 => $"{x} > {Int()}",
        1 => $"{x} <= {Int()}",
        2 => $"{x} * 0 + {BigOrSmall()} + {BigOrSmall()} > 0",
        3 => $"{x} * 0 - {BigOrSmall()} !== 7",
        4 => $"{x} / {_random.Next(0, 3)} >= 0",
        5 => $"{Collection(ints: true)}.contains({x})",
        6 => $"{x} == {AnyScalar()}",
        7 => $"{x} != {Int()}",
        8 => $"({x} | 1) ^ 2 === {Int()}",
        _ => $"{x} === {Int()} || {x} > 3",
    };

    private string StringExpression(string s) => _random.Next(8) switch
    {
        0 => $"{s}.starts_with({Str()})",
        1 => $"{s}.ends_with(\"a\")",
        2 => $"{s}.length() > {_random.Next(0, 4)}",
        3 => $"{Collection(ints: false)}.contains({s})",
        4 => $"{s} == {AnyScalar()}",
        5 => $"{s} + \"!\" === {Str()}",
        6 => $"{s}.matches(\"^[a-z]+$\")",
        _ => $"{s} !== {Str()} && {s}.length() < 10",
    };

    // s($v) holds terms of every type: each expression first narrows to one type with .type(), so an operation that is a
    // type error for some members is evaluated only where it is defined (again: no dependence on visiting order).
    private string AnyExpression(string v)
    {
        var type = Pick("integer", "string", "array", "map", "set", "null", "bool", "bytes", "date");
        var guard = $"{v}.type() == \"{type}\"";
        var operation = type switch
        {
            "integer" => _random.Next(2) == 0 ? $"{v} > {Int()}" : $"{v} === {Int()}",
            "string" => _random.Next(2) == 0 ? $"{v}.starts_with(\"a\")" : $"{v}.contains(\"o\")",
            "array" => _random.Next(5) switch
            {
                0 => $"{v}.contains({AnyScalar()})",
                1 => $"{v}.length() > 1",
                2 => $"{v}.any($w -> $w == {AnyScalar()})",
                3 => $"{v}.get(0) == {AnyScalar()}",
                _ => $"{v} == [{Int()}, {Int()}]",
            },
            "map" => _random.Next(3) switch
            {
                0 => $"{v}.contains(\"k0\")",
                1 => $"{v}.get(\"k1\") == {AnyScalar()}",
                _ => $"{v}.length() > 0",
            },
            "set" => _random.Next(3) switch
            {
                0 => $"{v}.contains({AnyScalar()})",
                1 => $"{v}.length() > 1",
                _ => $"{v}.intersection({{1, 2}}) == {{1}}",
            },
            "null" => _random.Next(2) == 0 ? $"{v} == null" : $"{v} != {AnyScalar()}",
            _ => $"{v} == {AnyTerm(depth: 1)}",
        };
        return guard + ", " + operation;
    }

    private string ConstantExpression() => _random.Next(12) switch
    {
        0 => $"[{Int()}, {Int()}].contains({Int()})",
        1 => $"{{\"k\": {Int()}, 2: \"v\"}}.get(\"k\") == {Int()}",
        2 => $"{Collection(ints: true)}.length() == {_random.Next(0, 4)}",
        3 => "null == null",
        4 => $"{Int()} + {BigOrSmall()} == {Int()}",
        5 => $"[1, 2, 3].all($e -> $e > {_random.Next(0, 3)})",
        6 => $"{{\"a\", \"b\"}}.intersection({{\"b\", \"c\"}}).contains(\"b\")",
        7 => $"{Date()} < {Date()}",
        8 => $"hex:0a0b === hex:0a0b",
        9 => $"[[1], [2, {Int()}]].get(1).length() == 2",
        10 => "{ null }.contains(null)",
        _ => $"{Str()}.length() / {_random.Next(0, 2)} == 1",
    };

    private string Collection(bool ints)
    {
        var items = Enumerable.Range(0, _random.Next(1, 4)).Select(_ => ints ? Int() : Str()).Distinct().ToList();
        return _random.Next(2) == 0 ? "[" + string.Join(", ", items) + "]" : "{" + string.Join(", ", items) + "}";
    }

    private string AnyTerm(int depth)
    {
        var choice = _random.Next(depth >= 2 ? 7 : 10);
        return choice switch
        {
            0 => Int(),
            1 => Str(),
            2 => Date(),
            3 => _random.Next(2) == 0 ? "true" : "false",
            4 => "hex:" + Convert.ToHexStringLower([(byte)_random.Next(256), (byte)_random.Next(256)]),
            5 => "null",
            6 => Collection(ints: _random.Next(2) == 0),
            7 => "[" + string.Join(", ", Enumerable.Range(0, _random.Next(0, 3)).Select(_ => AnyTerm(depth + 1))) + "]",
            8 => "{" + string.Join(", ", Enumerable.Range(0, _random.Next(1, 3)).Select(i => $"\"k{i}\": {AnyTerm(depth + 1)}")) + "}",
            _ => _random.Next(4) == 0 ? "{" + Int() + ", null}" : "{ null }",
        };
    }

    private string AnyScalar() => _random.Next(4) switch
    {
        0 => Int(),
        1 => Str(),
        2 => "true",
        _ => "null",
    };

    private string Int() => _random.Next(12) switch
    {
        0 => "-3",
        1 => "9223372036854775807",
        var n => (n - 2).ToString(CultureInfo.InvariantCulture),
    };

    private string BigOrSmall() => _random.Next(4) == 0 ? "9223372036854775807" : _random.Next(0, 5).ToString(CultureInfo.InvariantCulture);

    private string Str() => "\"" + Strings[_random.Next(Strings.Length)] + "\"";

    private string Date() => Dates[_random.Next(Dates.Length)];

    private string Pick(params string[] values) => values[_random.Next(values.Length)];
}
