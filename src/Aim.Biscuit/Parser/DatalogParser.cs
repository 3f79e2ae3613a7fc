using System.Globalization;
using System.Text;
using Aim.Biscuit.Datalog;

namespace Aim.Biscuit.Parser;

/// <summary>The statements of a Datalog source text (a block or an authorizer).</summary>
public sealed class DatalogSource
{
    /// <summary>Facts, in source order.</summary>
    public List<Fact> Facts { get; } = [];
    /// <summary>Rules, in source order.</summary>
    public List<Rule> Rules { get; } = [];
    /// <summary>Checks, in source order.</summary>
    public List<Check> Checks { get; } = [];
    /// <summary>Policies, in source order (authorizer only).</summary>
    public List<Policy> Policies { get; } = [];
    /// <summary>Block-level <c>trusting</c> scopes.</summary>
    public List<Scope> Scopes { get; } = [];
}

/// <summary>
/// Parser for the Biscuit Datalog text syntax: facts, rules, checks (<c>check if</c>, <c>check all</c>,
/// <c>reject if</c>), policies, <c>trusting</c> scopes, every term type and the full expression language.
/// <c>{name}</c> placeholders are replaced by term parameters or, after <c>trusting</c>,
/// by scope parameters (public keys). Input size and nesting depth are bounded.
/// </summary>
public static class DatalogParser
{
    /// <summary>Longest source text accepted, in characters.</summary>
    public const int MaxSourceLength = 1 << 20;

    /// <summary>Deepest nesting of parentheses, collections, methods and closures accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>Parses a block or authorizer source. Policies are refused unless <paramref name="allowPolicies"/>.</summary>
    /// <exception cref="BiscuitLanguageException">Syntax error, unknown or missing parameter, or limit exceeded.</exception>
    public static DatalogSource Parse(string source, bool allowPolicies = true,
        IReadOnlyDictionary<string, Term>? parameters = null, IReadOnlyDictionary<string, PublicKey>? scopeParameters = null)
    {
        var p = new Cursor(source, parameters, scopeParameters);
        var result = new DatalogSource();
        p.SkipSpace();
        while (!p.AtEnd)
        {
            p.ParseStatement(result, allowPolicies);
            p.SkipSpace();
            if (p.AtEnd) break;
            p.Expect(';');
            p.SkipSpace();
        }
        return result;
    }

    /// <summary>Parses one fact, e.g. <c>right("file1", "read")</c>.</summary>
    public static Fact ParseFact(string text, IReadOnlyDictionary<string, Term>? parameters = null) =>
        Single(text, parameters, null, s => s.Facts.Count == 1 ? s.Facts[0] : null, "a fact");

    /// <summary>Parses one rule, e.g. <c>a($x) &lt;- b($x)</c>.</summary>
    public static Rule ParseRule(string text, IReadOnlyDictionary<string, Term>? parameters = null, IReadOnlyDictionary<string, PublicKey>? scopeParameters = null) =>
        Single(text, parameters, scopeParameters, s => s.Rules.Count == 1 ? s.Rules[0] : null, "a rule");

    /// <summary>Parses one check, e.g. <c>check if a(1)</c>.</summary>
    public static Check ParseCheck(string text, IReadOnlyDictionary<string, Term>? parameters = null, IReadOnlyDictionary<string, PublicKey>? scopeParameters = null) =>
        Single(text, parameters, scopeParameters, s => s.Checks.Count == 1 ? s.Checks[0] : null, "a check");

    /// <summary>Parses one policy, e.g. <c>allow if a(1)</c>.</summary>
    public static Policy ParsePolicy(string text, IReadOnlyDictionary<string, Term>? parameters = null, IReadOnlyDictionary<string, PublicKey>? scopeParameters = null) =>
        Single(text, parameters, scopeParameters, s => s.Policies.Count == 1 ? s.Policies[0] : null, "a policy");

    private static T Single<T>(string text, IReadOnlyDictionary<string, Term>? parameters, IReadOnlyDictionary<string, PublicKey>? scopeParameters,
        Func<DatalogSource, T?> pick, string what) where T : class
    {
        var s = Parse(text.TrimEnd().TrimEnd(';'), true, parameters, scopeParameters);
        var count = s.Facts.Count + s.Rules.Count + s.Checks.Count + s.Policies.Count + s.Scopes.Count;
        return count == 1 && pick(s) is { } r ? r : throw new BiscuitLanguageException($"expected exactly {what}");
    }

    private sealed class Cursor(string text, IReadOnlyDictionary<string, Term>? parameters, IReadOnlyDictionary<string, PublicKey>? scopeParameters)
    {
        private readonly string _s = text.Length <= MaxSourceLength ? text : throw new BiscuitLanguageException("source text is too long");
        private int _pos;
        private int _depth;

        internal bool AtEnd => _pos >= _s.Length;
        private char Cur => _pos < _s.Length ? _s[_pos] : '\0';
        private char At(int offset) => _pos + offset < _s.Length ? _s[_pos + offset] : '\0';

        private BiscuitLanguageException Error(string message) => new(message, _pos);

        internal void SkipSpace()
        {
            while (_pos < _s.Length)
            {
                var c = _s[_pos];
                if (char.IsWhiteSpace(c)) { _pos++; continue; }
                if (c == '/' && At(1) == '/')
                {
                    while (_pos < _s.Length && _s[_pos] != '\n') _pos++;
                    continue;
                }
                if (c == '/' && At(1) == '*')
                {
                    var end = _s.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
                    if (end < 0) throw Error("unterminated comment");
                    _pos = end + 2;
                    continue;
                }
                break;
            }
        }

        internal void Expect(char c)
        {
            SkipSpace();
            if (Cur != c) throw Error($"expected '{c}'");
            _pos++;
        }

        private bool TryConsume(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(_s, _pos, token, 0, token.Length) != 0) return false;
            _pos += token.Length;
            return true;
        }

        /// <summary>Consumes a keyword only when it is not the prefix of a longer name.</summary>
        private bool TryKeyword(string keyword)
        {
            SkipSpace();
            if (string.CompareOrdinal(_s, _pos, keyword, 0, keyword.Length) != 0) return false;
            var next = _pos + keyword.Length < _s.Length ? _s[_pos + keyword.Length] : '\0';
            if (IsNameChar(next)) return false;
            _pos += keyword.Length;
            return true;
        }

        private static bool IsNameStart(char c) => char.IsLetter(c);
        private static bool IsNameChar(char c) => char.IsLetterOrDigit(c) || c == '_' || c == ':';

        private string ParseName()
        {
            SkipSpace();
            if (!IsNameStart(Cur)) throw Error("expected a name");
            var start = _pos;
            while (IsNameChar(Cur)) _pos++;
            return _s[start.._pos];
        }

        private void Enter()
        {
            if (++_depth > MaxDepth) throw Error("nested too deeply");
        }

        private void Leave() => _depth--;

        // ---------- statements ----------

        internal void ParseStatement(DatalogSource into, bool allowPolicies)
        {
            SkipSpace();
            var save = _pos;
            if (TryKeyword("check"))
            {
                CheckKind kind;
                if (TryKeyword("if")) kind = CheckKind.One;
                else if (TryKeyword("all")) kind = CheckKind.All;
                else throw Error("expected 'if' or 'all' after 'check'");
                into.Checks.Add(new Check(kind, ParseQueries()));
                return;
            }
            if (TryKeyword("reject"))
            {
                if (!TryKeyword("if")) throw Error("expected 'if' after 'reject'");
                into.Checks.Add(new Check(CheckKind.Reject, ParseQueries()));
                return;
            }
            PolicyKind? policyKind = TryKeyword("allow") ? PolicyKind.Allow : TryKeyword("deny") ? PolicyKind.Deny : null;
            if (policyKind is { } policy)
            {
                if (!allowPolicies) throw Error("policies are only allowed in an authorizer");
                if (!TryKeyword("if")) throw Error("expected 'if' after the policy kind");
                into.Policies.Add(new Policy(policy, ParseQueries()));
                return;
            }
            if (TryKeyword("trusting"))
            {
                into.Scopes.AddRange(ParseScopes());
                return;
            }

            var head = ParsePredicate(allowVariables: true);
            if (TryConsume("<-"))
            {
                var (body, expressions, scopes) = ParseBody();
                into.Rules.Add(new Rule(head, body, expressions, scopes));
                return;
            }
            if (head.Terms.Any(t => t.HasVariables)) throw new BiscuitLanguageException("facts cannot contain variables", save);
            into.Facts.Add(new Fact(head));
        }

        private List<Rule> ParseQueries()
        {
            var queries = new List<Rule>();
            do
            {
                var (body, expressions, scopes) = ParseBody();
                queries.Add(new Rule(new Predicate("query", []), body, expressions, scopes));
            }
            while (TryKeyword("or"));
            return queries;
        }

        private (List<Predicate>, List<Expression>, List<Scope>) ParseBody()
        {
            var body = new List<Predicate>();
            var expressions = new List<Expression>();
            do
            {
                SkipSpace();
                if (LooksLikePredicate()) body.Add(ParsePredicate(allowVariables: true));
                else expressions.Add(new Expression(ParseExpression()));
            }
            while (TryConsume(","));
            var scopes = TryKeyword("trusting") ? ParseScopes() : [];
            return (body, expressions, scopes);
        }

        private bool LooksLikePredicate()
        {
            if (!IsNameStart(Cur)) return false;
            var i = _pos;
            while (i < _s.Length && IsNameChar(_s[i])) i++;
            var name = _s[_pos..i];
            if (name.StartsWith("hex:", StringComparison.Ordinal)) return false;
            while (i < _s.Length && char.IsWhiteSpace(_s[i])) i++;
            return i < _s.Length && _s[i] == '(';
        }

        private List<Scope> ParseScopes()
        {
            var scopes = new List<Scope>();
            do
            {
                SkipSpace();
                if (TryKeyword("authority")) scopes.Add(Scope.Authority);
                else if (TryKeyword("previous")) scopes.Add(Scope.Previous);
                else if (Cur == '{')
                {
                    var name = ParseParameterName();
                    if (scopeParameters is null || !scopeParameters.TryGetValue(name, out var key))
                        throw Error($"missing scope parameter '{name}'");
                    scopes.Add(Scope.Trusting(key));
                }
                else scopes.Add(Scope.Trusting(ParsePublicKey()));
            }
            while (TryConsume(","));
            return scopes;
        }

        private PublicKey ParsePublicKey()
        {
            SkipSpace();
            var start = _pos;
            while (char.IsLetterOrDigit(Cur)) _pos++;
            var alg = _s[start.._pos];
            if (alg is not ("ed25519" or "secp256r1") || Cur != '/') throw Error("expected a public key (ed25519/<hex> or secp256r1/<hex>)");
            _pos++;
            var hexStart = _pos;
            while (Uri.IsHexDigit(Cur)) _pos++;
            try
            {
                return PublicKey.Parse(alg + "/" + _s[hexStart.._pos]);
            }
            catch (BiscuitFormatException e)
            {
                throw Error("invalid public key: " + e.Message);
            }
        }

        private Predicate ParsePredicate(bool allowVariables)
        {
            var name = ParseName();
            Expect('(');
            var terms = new List<Term>();
            SkipSpace();
            if (Cur != ')')
            {
                do terms.Add(ParseTerm(allowVariables));
                while (TryConsume(","));
            }
            Expect(')');
            return new Predicate(name, terms);
        }

        // ---------- terms ----------

        private Term ParseTerm(bool allowVariables)
        {
            SkipSpace();
            var c = Cur;
            if (c == '$')
            {
                if (!allowVariables) throw Error("variables are not allowed here");
                _pos++;
                var start = _pos;
                while (IsNameChar(Cur)) _pos++;
                if (start == _pos) throw Error("expected a variable name");
                return Term.Variable(_s[start.._pos]);
            }
            if (c == '"') return Term.String(ParseString());
            if (c == '[')
            {
                Enter();
                _pos++;
                var items = new List<Term>();
                SkipSpace();
                if (Cur != ']')
                {
                        // As biscuit-rust's parser: array members are terms of facts (no variables).
                    do items.Add(ParseTerm(allowVariables: false));
                    while (TryConsume(","));
                }
                Expect(']');
                Leave();
                return Term.Array(items);
            }
            if (c == '{') return ParseBraceTerm(allowVariables);
            if (TryKeyword("true")) return Term.Bool(true);
            if (TryKeyword("false")) return Term.Bool(false);
            if (TryKeyword("null")) return Term.Null;
            if (TryConsume("hex:"))
            {
                var start = _pos;
                while (Uri.IsHexDigit(Cur)) _pos++;
                var hex = _s[start.._pos];
                if (hex.Length % 2 != 0) throw Error("odd number of hex digits");
                return Term.Bytes(Convert.FromHexString(hex));
            }
            if (char.IsAsciiDigit(c) || (c == '-' && char.IsAsciiDigit(At(1))))
                return LooksLikeDate() ? ParseDate() : ParseInteger();
            throw Error("expected a term");
        }

        private string ParseParameterName()
        {
            Expect('{');
            SkipSpace();
            var start = _pos;
            while (char.IsLetterOrDigit(Cur) || Cur == '_') _pos++;
            if (start == _pos) throw Error("expected a parameter name");
            var name = _s[start.._pos];
            Expect('}');
            return name;
        }

        private Term ParseBraceTerm(bool allowVariables)
        {
            // {name} is a parameter; {,} the empty set; {k: v, ...} a map; {a, b} a set. As in biscuit-rust's grammar, a
            // parameter is '{', a letter, letters, digits, '_' or ':', and '}' with no space in between, and it comes first:
            // {null} and {true} are parameters, { null } a set.
            var save = _pos;
            _pos++;
            if (char.IsAsciiLetter(Cur))
            {
                var i = _pos;
                while (i < _s.Length && (char.IsAsciiLetterOrDigit(_s[i]) || _s[i] == '_' || _s[i] == ':')) i++;
                if (i < _s.Length && _s[i] == '}')
                {
                    var name = _s[_pos..i];
                    _pos = i + 1;
                    if (parameters is null || !parameters.TryGetValue(name, out var value)) throw new BiscuitLanguageException($"missing parameter '{name}'", save);
                    return value;
                }
            }
            SkipSpace();
            Enter();
            try
            {
                if (Cur == ',')
                {
                    _pos++;
                    Expect('}');
                    return Term.Set([]);
                }
                if (Cur == '}')
                {
                    _pos++;
                    return Term.Map([]);
                }
                var first = ParseTerm(allowVariables: false);
                SkipSpace();
                if (Cur == ':')
                {
                    var entries = new List<KeyValuePair<Term, Term>>();
                    while (true)
                    {
                        if (first is not (IntegerTerm or StringTerm)) throw Error("map keys must be integers or strings");
                        Expect(':');
                        entries.Add(new(first, ParseTerm(allowVariables: false)));
                        if (!TryConsume(",")) break;
                        first = ParseTerm(allowVariables: false);
                    }
                    Expect('}');
                    return Term.Map(entries);
                }
                var items = new List<Term> { first };
                while (TryConsume(",")) items.Add(ParseTerm(allowVariables));
                Expect('}');
                if (items.Any(t => t is VariableTerm or SetTerm or ArrayTerm)) throw new BiscuitLanguageException("sets cannot contain variables, sets or arrays", save);
                // As biscuit-rust's parser: the members of a set literal are of one type (null being a type of its own).
                if (items.Any(t => t.GetType() != items[0].GetType())) throw new BiscuitLanguageException("set elements must have the same type", save);
                return Term.Set(items);
            }
            finally
            {
                Leave();
            }
        }

        private string ParseString()
        {
            _pos++;
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd) throw Error("unterminated string");
                var c = _s[_pos++];
                if (c == '"') return sb.ToString();
                if (c != '\\')
                {
                    sb.Append(c);
                    continue;
                }
                if (AtEnd) throw Error("unterminated string");
                var e = _s[_pos++];
                sb.Append(e switch
                {
                    '"' => '"',
                    '\\' => '\\',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    _ => throw Error($"unknown escape '\\{e}'"),
                });
            }
        }

        private bool LooksLikeDate()
        {
            var i = _pos;
            while (i < _s.Length && char.IsAsciiDigit(_s[i])) i++;
            return i - _pos >= 4 && i < _s.Length && _s[i] == '-' && i + 1 < _s.Length && char.IsAsciiDigit(_s[i + 1]);
        }

        private Term ParseDate()
        {
            var start = _pos;
            while (_pos < _s.Length && (char.IsAsciiDigit(Cur) || Cur is '-' or ':' or 'T' or 'Z' or '+' or '.')) _pos++;
            var text = _s[start.._pos];
            if (!DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal, out var date))
                throw new BiscuitLanguageException($"invalid date '{text}'", start);
            if (date < DateTimeOffset.UnixEpoch) throw new BiscuitLanguageException("dates before 1970 are not supported", start);
            return Term.Date(date);
        }

        private Term ParseInteger()
        {
            var start = _pos;
            if (Cur == '-') _pos++;
            while (char.IsAsciiDigit(Cur)) _pos++;
            if (!long.TryParse(_s.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                throw new BiscuitLanguageException("integer out of range", start);
            return Term.Integer(value);
        }

        // ---------- expressions ----------

        internal List<Op> ParseExpression()
        {
            Enter();
            try
            {
                return ParseLazy(0);
            }
            finally
            {
                Leave();
            }
        }

        private List<Op> ParseLazy(int level)
        {
            // level 0: ||, level 1: &&; the right side becomes a zero-parameter closure (short-circuit).
            var op = level == 0 ? "||" : "&&";
            var kind = level == 0 ? BinaryKind.LazyOr : BinaryKind.LazyAnd;
            var left = level == 0 ? ParseLazy(1) : ParseComparison();
            while (TryConsume(op))
            {
                Enter();
                var right = level == 0 ? ParseLazy(1) : ParseComparison();
                Leave();
                left.Add(new ClosureOp([], right));
                left.Add(new BinaryOp(kind));
            }
            return left;
        }

        private List<Op> ParseComparison()
        {
            var left = ParseBitwise(0);
            SkipSpace();
            BinaryKind? kind = null;
            foreach (var (token, k) in Comparisons)
            {
                if (TryConsume(token))
                {
                    kind = k;
                    break;
                }
            }
            if (kind is null) return left;
            left.AddRange(ParseBitwise(0));
            left.Add(new BinaryOp(kind.Value));
            return left;
        }

        private static readonly (string, BinaryKind)[] Comparisons =
        [
            ("===", BinaryKind.Equal), ("!==", BinaryKind.NotEqual), ("==", BinaryKind.HeterogeneousEqual), ("!=", BinaryKind.HeterogeneousNotEqual),
            ("<=", BinaryKind.LessOrEqual), (">=", BinaryKind.GreaterOrEqual), ("<", BinaryKind.LessThan), (">", BinaryKind.GreaterThan),
        ];

        private List<Op> ParseBitwise(int level)
        {
            // level 0: ^ (loosest), 1: |, 2: &
            if (level == 3) return ParseAdditive();
            var left = ParseBitwise(level + 1);
            while (true)
            {
                SkipSpace();
                var c = Cur;
                var matches = level switch
                {
                    0 => c == '^',
                    1 => c == '|' && At(1) != '|',
                    _ => c == '&' && At(1) != '&',
                };
                if (!matches) return left;
                _pos++;
                left.AddRange(ParseBitwise(level + 1));
                left.Add(new BinaryOp(level switch { 0 => BinaryKind.BitwiseXor, 1 => BinaryKind.BitwiseOr, _ => BinaryKind.BitwiseAnd }));
            }
        }

        private List<Op> ParseAdditive()
        {
            var left = ParseMultiplicative();
            while (true)
            {
                SkipSpace();
                if (Cur == '+') { _pos++; left.AddRange(ParseMultiplicative()); left.Add(new BinaryOp(BinaryKind.Add)); }
                else if (Cur == '-') { _pos++; left.AddRange(ParseMultiplicative()); left.Add(new BinaryOp(BinaryKind.Sub)); }
                else return left;
            }
        }

        private List<Op> ParseMultiplicative()
        {
            var left = ParseUnary();
            while (true)
            {
                SkipSpace();
                if (Cur == '*') { _pos++; left.AddRange(ParseUnary()); left.Add(new BinaryOp(BinaryKind.Mul)); }
                else if (Cur == '/' && At(1) != '/' && At(1) != '*') { _pos++; left.AddRange(ParseUnary()); left.Add(new BinaryOp(BinaryKind.Div)); }
                else return left;
            }
        }

        private List<Op> ParseUnary()
        {
            SkipSpace();
            if (Cur == '!' && At(1) != '=')
            {
                _pos++;
                Enter();
                var inner = ParseUnary();
                Leave();
                inner.Add(new UnaryOp(UnaryKind.Negate));
                return inner;
            }
            return ParseMethods();
        }

        private List<Op> ParseMethods()
        {
            var ops = ParsePrimary();
            while (true)
            {
                SkipSpace();
                if (Cur != '.' ) return ops;
                _pos++;
                string name;
                if (TryConsume("extern::"))
                    name = "extern::" + ParseName();
                else
                    name = ParseName();
                Expect('(');
                Enter();
                SkipSpace();
                switch (name)
                {
                    case "length" or "type":
                        Expect(')');
                        ops.Add(new UnaryOp(name == "length" ? UnaryKind.Length : UnaryKind.TypeOf));
                        break;
                    case "all" or "any":
                        ops.Add(ParseClosure());
                        Expect(')');
                        ops.Add(new BinaryOp(name == "all" ? BinaryKind.All : BinaryKind.Any));
                        break;
                    default:
                        if (name.StartsWith("extern::", StringComparison.Ordinal))
                        {
                            var ffi = name["extern::".Length..];
                            if (Cur == ')')
                            {
                                _pos++;
                                ops.Add(new UnaryOp(UnaryKind.Ffi, ffi));
                            }
                            else
                            {
                                ops.AddRange(ParseExpression());
                                Expect(')');
                                ops.Add(new BinaryOp(BinaryKind.Ffi, ffi));
                            }
                            break;
                        }
                        var kind = name switch
                        {
                            "contains" => BinaryKind.Contains,
                            "starts_with" => BinaryKind.Prefix,
                            "ends_with" => BinaryKind.Suffix,
                            "matches" => BinaryKind.Regex,
                            "intersection" => BinaryKind.Intersection,
                            "union" => BinaryKind.Union,
                            "get" => BinaryKind.Get,
                            _ => throw Error($"unknown method '{name}'"),
                        };
                        ops.AddRange(ParseExpression());
                        Expect(')');
                        ops.Add(new BinaryOp(kind));
                        break;
                }
                Leave();
            }
        }

        private ClosureOp ParseClosure()
        {
            SkipSpace();
            var parameters = new List<string>();
            do
            {
                SkipSpace();
                if (Cur != '$') throw Error("expected a closure parameter");
                _pos++;
                var start = _pos;
                while (IsNameChar(Cur)) _pos++;
                if (start == _pos) throw Error("expected a closure parameter name");
                parameters.Add(_s[start.._pos]);
            }
            while (TryConsume(","));
            if (!TryConsume("->")) throw Error("expected '->'");
            return new ClosureOp(parameters, ParseExpression());
        }

        private List<Op> ParsePrimary()
        {
            SkipSpace();
            if (Cur == '(')
            {
                _pos++;
                var inner = ParseExpression();
                Expect(')');
                inner.Add(new UnaryOp(UnaryKind.Parens));
                return inner;
            }
            return [new ValueOp(ParseTerm(allowVariables: true))];
        }
    }
}
