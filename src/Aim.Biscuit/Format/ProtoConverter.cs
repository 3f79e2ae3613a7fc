using Aim.Biscuit.Datalog;
using Google.Protobuf;
using Proto = global::Biscuit.Format.Schema;

namespace Aim.Biscuit.Format;

/// <summary>Converts between protobuf messages and the Datalog model, through symbol and key tables.</summary>
internal static class ProtoConverter
{
    internal const uint MinVersion = 3;
    internal const uint MaxVersion = 6;

    // ---------- keys ----------

    internal static PublicKey DecodeKey(Proto.PublicKey? key)
    {
        if (key is null || !key.HasAlgorithm || !key.HasKey)
            throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: missing public key");
        return key.Algorithm switch
        {
            Proto.PublicKey.Types.Algorithm.Ed25519 => PublicKey.FromBytes(key.Key.Span, Algorithm.Ed25519),
            Proto.PublicKey.Types.Algorithm.Secp256R1 => PublicKey.FromBytes(key.Key.Span, Algorithm.Secp256r1),
            _ => throw new BiscuitFormatException(FormatErrorKind.DeserializationError, $"deserialization error: unexpected key algorithm {(int)key.Algorithm}"),
        };
    }

    internal static Proto.PublicKey EncodeKey(PublicKey key) => new()
    {
        Algorithm = key.Algorithm == Algorithm.Ed25519 ? Proto.PublicKey.Types.Algorithm.Ed25519 : Proto.PublicKey.Types.Algorithm.Secp256R1,
        Key = ByteString.CopyFrom(key.Bytes),
    };

    // ---------- blocks ----------

    /// <summary>Decodes a block. <paramref name="symbols"/> and <paramref name="keys"/> must already hold the block's own entries.</summary>
    internal static Block DecodeBlock(Proto.Block block, SymbolTable symbols, PublicKeyTable keys, PublicKey? externalKey)
    {
        var version = block.HasVersion ? block.Version : 0;
        if (version < MinVersion || version > MaxVersion)
            throw new BiscuitFormatException(FormatErrorKind.Version,
                $"format version error: block version {version} is outside the supported range {MinVersion}..{MaxVersion}");

        var facts = new Fact[block.FactsV2.Count];
        for (var i = 0; i < facts.Length; i++) facts[i] = DecodeFact(block.FactsV2[i], symbols);
        var rules = new Rule[block.RulesV2.Count];
        for (var i = 0; i < rules.Length; i++) rules[i] = DecodeRule(block.RulesV2[i], symbols, keys);
        var checks = new Check[block.ChecksV2.Count];
        for (var i = 0; i < checks.Length; i++) checks[i] = DecodeCheck(block.ChecksV2[i], symbols, keys);
        var scopes = DecodeScopes(block.Scope, keys);
        var explicitKind = false;
        foreach (var c in block.ChecksV2) explicitKind |= c.HasKind;
        Block.CheckCompatibility(version, facts, rules, checks, scopes, explicitKind, externalKey is not null);

        var blockKeys = new PublicKey[block.PublicKeys.Count];
        for (var i = 0; i < blockKeys.Length; i++) blockKeys[i] = DecodeKey(block.PublicKeys[i]);
        return new Block(facts, rules, checks, scopes, block.HasContext ? block.Context : null, version, externalKey,
            [.. block.Symbols], blockKeys);
    }

    private static Scope[] DecodeScopes(Google.Protobuf.Collections.RepeatedField<Proto.Scope> scopes, PublicKeyTable keys)
    {
        if (scopes.Count == 0) return [];
        var result = new Scope[scopes.Count];
        for (var i = 0; i < result.Length; i++) result[i] = DecodeScope(scopes[i], keys);
        return result;
    }

    /// <summary>
    /// Encodes a block. New symbols and keys are appended to <paramref name="symbols"/> and <paramref name="keys"/>
    /// and listed in the block's own tables.
    /// </summary>
    internal static Proto.Block EncodeBlock(IReadOnlyList<Fact> facts, IReadOnlyList<Rule> rules, IReadOnlyList<Check> checks,
        IReadOnlyList<Scope> scopes, string? context, SymbolTable symbols, PublicKeyTable keys, bool thirdParty)
    {
        var symbolsBefore = symbols.Symbols.Count;
        var keysBefore = keys.Keys.Count;
        var result = new Proto.Block();
        foreach (var f in facts) result.FactsV2.Add(new Proto.FactV2 { Predicate = EncodePredicate(f.Predicate, symbols) });
        foreach (var r in rules) result.RulesV2.Add(EncodeRule(r, symbols, keys));
        foreach (var c in checks)
        {
            var check = new Proto.CheckV2();
            foreach (var q in c.Queries) check.Queries.Add(EncodeRule(q, symbols, keys));
            if (c.Kind != CheckKind.One) check.Kind = (Proto.CheckV2.Types.Kind)(int)c.Kind;
            result.ChecksV2.Add(check);
        }
        foreach (var s in scopes) result.Scope.Add(EncodeScope(s, keys));
        if (context is not null) result.Context = context;
        result.Version = Block.RequiredVersion(facts, rules, checks, scopes, thirdParty);
        for (var i = symbolsBefore; i < symbols.Symbols.Count; i++) result.Symbols.Add(symbols.Symbols[i]);
        for (var i = keysBefore; i < keys.Keys.Count; i++) result.PublicKeys.Add(EncodeKey(keys.Keys[i]));
        return result;
    }

    // ---------- facts, rules, checks ----------

    internal static Fact DecodeFact(Proto.FactV2 fact, SymbolTable symbols)
    {
        var predicate = DecodePredicate(fact.Predicate, symbols);
        foreach (var t in predicate.RawTerms)
            if (t.HasVariables) throw new BiscuitFormatException(FormatErrorKind.InvalidBlock, "a fact contains a variable");
        return new Fact(predicate);
    }

    internal static Rule DecodeRule(Proto.RuleV2 rule, SymbolTable symbols, PublicKeyTable keys)
    {
        var head = DecodePredicate(rule.Head, symbols);
        var body = new Predicate[rule.Body.Count];
        for (var i = 0; i < body.Length; i++) body[i] = DecodePredicate(rule.Body[i], symbols);
        var expressions = rule.Expressions.Count == 0 ? [] : new Expression[rule.Expressions.Count];
        for (var i = 0; i < expressions.Length; i++) expressions[i] = new Expression(DecodeOps(rule.Expressions[i].Ops, symbols));
        return Rule.Owning(head, body, expressions, DecodeScopes(rule.Scope, keys));
    }

    internal static Check DecodeCheck(Proto.CheckV2 check, SymbolTable symbols, PublicKeyTable keys)
    {
        var kind = check.HasKind ? check.Kind : Proto.CheckV2.Types.Kind.One;
        if (kind is not (Proto.CheckV2.Types.Kind.One or Proto.CheckV2.Types.Kind.All or Proto.CheckV2.Types.Kind.Reject))
            throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: unknown check kind");
        var queries = new Rule[check.Queries.Count];
        for (var i = 0; i < queries.Length; i++) queries[i] = DecodeRule(check.Queries[i], symbols, keys);
        return new Check((CheckKind)(int)kind, queries);
    }

    internal static Proto.RuleV2 EncodeRule(Rule rule, SymbolTable symbols, PublicKeyTable keys)
    {
        var result = new Proto.RuleV2 { Head = EncodePredicate(rule.Head, symbols) };
        foreach (var p in rule.Body) result.Body.Add(EncodePredicate(p, symbols));
        foreach (var e in rule.Expressions)
        {
            var expression = new Proto.ExpressionV2();
            EncodeOps(e.Ops, expression.Ops, symbols);
            result.Expressions.Add(expression);
        }
        foreach (var s in rule.Scopes) result.Scope.Add(EncodeScope(s, keys));
        return result;
    }

    internal static Scope DecodeScope(Proto.Scope scope, PublicKeyTable keys) => scope.ContentCase switch
    {
        Proto.Scope.ContentOneofCase.ScopeType when scope.ScopeType == Proto.Scope.Types.ScopeType.Authority => Scope.Authority,
        Proto.Scope.ContentOneofCase.ScopeType when scope.ScopeType == Proto.Scope.Types.ScopeType.Previous => Scope.Previous,
        Proto.Scope.ContentOneofCase.PublicKey => Scope.Trusting(keys.Get(scope.PublicKey)),
        _ => throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: invalid scope"),
    };

    internal static Proto.Scope EncodeScope(Scope scope, PublicKeyTable keys) => scope.Kind switch
    {
        ScopeKind.Authority => new Proto.Scope { ScopeType = Proto.Scope.Types.ScopeType.Authority },
        ScopeKind.Previous => new Proto.Scope { ScopeType = Proto.Scope.Types.ScopeType.Previous },
        _ => new Proto.Scope { PublicKey = keys.Insert(scope.Key!) },
    };

    // ---------- predicates and terms ----------

    internal static Predicate DecodePredicate(Proto.PredicateV2? predicate, SymbolTable symbols)
    {
        if (predicate is null || !predicate.HasName)
            throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: missing predicate");
        var name = symbols.Get(predicate.Name);
        var terms = new Term[predicate.Terms.Count];
        for (var i = 0; i < terms.Length; i++) terms[i] = DecodeTerm(predicate.Terms[i], symbols, 0);
        return Predicate.Owning(name, terms);
    }

    internal static Proto.PredicateV2 EncodePredicate(Predicate predicate, SymbolTable symbols)
    {
        var result = new Proto.PredicateV2 { Name = symbols.Insert(predicate.Name) };
        foreach (var t in predicate.Terms) result.Terms.Add(EncodeTerm(t, symbols));
        return result;
    }

    internal static Term DecodeTerm(Proto.TermV2 term, SymbolTable symbols, int depth)
    {
        if (depth > 32) throw new BiscuitFormatException(FormatErrorKind.InvalidBlock, "terms are nested too deeply");
        switch (term.ContentCase)
        {
            case Proto.TermV2.ContentOneofCase.Variable: return Term.Variable(symbols.Get(term.Variable));
            case Proto.TermV2.ContentOneofCase.Integer: return Term.Integer(term.Integer);
            case Proto.TermV2.ContentOneofCase.String: return Term.String(symbols.Get(term.String));
            case Proto.TermV2.ContentOneofCase.Date: return new DateTerm(term.Date);
            case Proto.TermV2.ContentOneofCase.Bytes: return Term.Bytes(term.Bytes.Span);
            case Proto.TermV2.ContentOneofCase.Bool: return Term.Bool(term.Bool);
            case Proto.TermV2.ContentOneofCase.Null: return Term.Null;
            case Proto.TermV2.ContentOneofCase.Set:
                var items = term.Set.Set.Select(t => DecodeTerm(t, symbols, depth + 1)).ToList();
                if (items.Any(t => t is VariableTerm or SetTerm))
                    throw new BiscuitFormatException(FormatErrorKind.InvalidBlock, "a set cannot contain variables or sets");
                return Term.Set(items);
            case Proto.TermV2.ContentOneofCase.Array:
                return Term.Array(term.Array.Array_.Select(t => DecodeTerm(t, symbols, depth + 1)).ToList());
            case Proto.TermV2.ContentOneofCase.Map:
                var entries = new List<KeyValuePair<Term, Term>>();
                foreach (var e in term.Map.Entries)
                {
                    if (e.Key is null || e.Value is null)
                        throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: incomplete map entry");
                    Term key = e.Key.ContentCase switch
                    {
                        Proto.MapKey.ContentOneofCase.Integer => Term.Integer(e.Key.Integer),
                        Proto.MapKey.ContentOneofCase.String => Term.String(symbols.Get(e.Key.String)),
                        _ => throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: invalid map key"),
                    };
                    entries.Add(new(key, DecodeTerm(e.Value, symbols, depth + 1)));
                }
                return Term.Map(entries);
            default:
                throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: empty term");
        }
    }

    internal static Proto.TermV2 EncodeTerm(Term term, SymbolTable symbols)
    {
        switch (term)
        {
            case VariableTerm v: return new Proto.TermV2 { Variable = checked((uint)symbols.Insert(v.Name)) };
            case IntegerTerm i: return new Proto.TermV2 { Integer = i.Value };
            case StringTerm s: return new Proto.TermV2 { String = symbols.Insert(s.Value) };
            case DateTerm d: return new Proto.TermV2 { Date = d.Seconds };
            case BytesTerm b: return new Proto.TermV2 { Bytes = ByteString.CopyFrom(b.Value) };
            case BoolTerm b: return new Proto.TermV2 { Bool = b.Value };
            case NullTerm: return new Proto.TermV2 { Null = new Proto.Empty() };
            case SetTerm s:
                var set = new Proto.TermSet();
                foreach (var t in s.Items) set.Set.Add(EncodeTerm(t, symbols));
                return new Proto.TermV2 { Set = set };
            case ArrayTerm a:
                var array = new Proto.Array();
                foreach (var t in a.Items) array.Array_.Add(EncodeTerm(t, symbols));
                return new Proto.TermV2 { Array = array };
            case MapTerm m:
                var map = new Proto.Map();
                foreach (var (k, v) in m.Entries)
                {
                    var key = k is IntegerTerm ik ? new Proto.MapKey { Integer = ik.Value } : new Proto.MapKey { String = symbols.Insert(((StringTerm)k).Value) };
                    map.Entries.Add(new Proto.MapEntry { Key = key, Value = EncodeTerm(v, symbols) });
                }
                return new Proto.TermV2 { Map = map };
            default:
                throw new BiscuitFormatException(FormatErrorKind.SerializationError, "unknown term type");
        }
    }

    // ---------- expressions ----------

    internal static List<Op> DecodeOps(IEnumerable<Proto.Op> ops, SymbolTable symbols, int depth = 0)
    {
        if (depth > 16) throw new BiscuitFormatException(FormatErrorKind.InvalidBlock, "closures are nested too deeply");
        var result = new List<Op>();
        foreach (var op in ops)
        {
            switch (op.ContentCase)
            {
                case Proto.Op.ContentOneofCase.Value:
                    result.Add(new ValueOp(DecodeTerm(op.Value, symbols, 0)));
                    break;
                case Proto.Op.ContentOneofCase.Unary:
                    var u = op.Unary;
                    if (!u.HasKind || !Enum.IsDefined((UnaryKind)(int)u.Kind))
                        throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: unknown unary operation");
                    var uk = (UnaryKind)(int)u.Kind;
                    result.Add(new UnaryOp(uk, uk == UnaryKind.Ffi ? FfiName(u.HasFfiName, u.FfiName, symbols) : null));
                    break;
                case Proto.Op.ContentOneofCase.Binary:
                    var b = op.Binary;
                    if (!b.HasKind || !Enum.IsDefined((BinaryKind)(int)b.Kind))
                        throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: unknown binary operation");
                    var bk = (BinaryKind)(int)b.Kind;
                    result.Add(new BinaryOp(bk, bk == BinaryKind.Ffi ? FfiName(b.HasFfiName, b.FfiName, symbols) : null));
                    break;
                case Proto.Op.ContentOneofCase.Closure:
                    result.Add(new ClosureOp(op.Closure.Params.Select(p => symbols.Get(p)).ToList(), DecodeOps(op.Closure.Ops, symbols, depth + 1)));
                    break;
                default:
                    throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: empty operation");
            }
        }
        return result;
    }

    private static string FfiName(bool has, ulong index, SymbolTable symbols) =>
        has ? symbols.Get(index) : throw new BiscuitFormatException(FormatErrorKind.DeserializationError, "deserialization error: missing extern function name");

    internal static void EncodeOps(IEnumerable<Op> ops, Google.Protobuf.Collections.RepeatedField<Proto.Op> into, SymbolTable symbols)
    {
        foreach (var op in ops)
        {
            switch (op)
            {
                case ValueOp v:
                    into.Add(new Proto.Op { Value = EncodeTerm(v.Value, symbols) });
                    break;
                case UnaryOp u:
                    var unary = new Proto.OpUnary { Kind = (Proto.OpUnary.Types.Kind)(int)u.Kind };
                    if (u.FfiName is not null) unary.FfiName = symbols.Insert(u.FfiName);
                    into.Add(new Proto.Op { Unary = unary });
                    break;
                case BinaryOp b:
                    var binary = new Proto.OpBinary { Kind = (Proto.OpBinary.Types.Kind)(int)b.Kind };
                    if (b.FfiName is not null) binary.FfiName = symbols.Insert(b.FfiName);
                    into.Add(new Proto.Op { Binary = binary });
                    break;
                case ClosureOp c:
                    var closure = new Proto.OpClosure();
                    foreach (var p in c.Parameters) closure.Params.Add(checked((uint)symbols.Insert(p)));
                    EncodeOps(c.Ops, closure.Ops, symbols);
                    into.Add(new Proto.Op { Closure = closure });
                    break;
            }
        }
    }
}
