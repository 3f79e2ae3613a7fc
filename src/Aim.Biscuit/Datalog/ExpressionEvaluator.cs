using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Aim.Biscuit.Datalog;

/// <summary>Evaluates expressions on the stack machine described by the specification.</summary>
internal sealed class ExpressionEvaluator(IReadOnlyDictionary<string, ExternFunction>? externs)
{
    private const int MaxClosureDepth = 32;
    private const int MaxRegexCacheSize = 256;
    private static readonly ConcurrentDictionary<string, Regex?> RegexCache = new();

    /// <summary>Evaluates to a boolean; any other result is <see cref="ExecutionErrorKind.InvalidType"/>.</summary>
    internal bool EvaluateBool(Expression expression, Dictionary<string, Term> variables) =>
        Evaluate(expression.Ops, variables, 0) is BoolTerm b ? b.Value : throw Error(ExecutionErrorKind.InvalidType);

    internal Term Evaluate(IReadOnlyList<Op> ops, Dictionary<string, Term> variables, int depth)
    {
        if (depth > MaxClosureDepth) throw Error(ExecutionErrorKind.TooDeep);
        var stack = new List<object>(ops.Count);
        foreach (var op in ops)
        {
            switch (op)
            {
                case ValueOp { Value: VariableTerm v }:
                    stack.Add(variables.TryGetValue(v.Name, out var bound) ? bound : throw Error(ExecutionErrorKind.UnknownVariable, v.Name));
                    break;
                case ValueOp value:
                    if (value.Value.HasVariables) throw Error(ExecutionErrorKind.InvalidType);
                    stack.Add(value.Value);
                    break;
                case ClosureOp closure:
                    stack.Add(closure);
                    break;
                case UnaryOp unary:
                    stack.Add(Unary(unary, PopTerm(stack)));
                    break;
                case BinaryOp binary:
                    var right = Pop(stack);
                    var left = PopTerm(stack);
                    stack.Add(Binary(binary, left, right, variables, depth));
                    break;
                default:
                    throw Error(ExecutionErrorKind.InvalidStack);
            }
        }
        if (stack.Count != 1 || stack[0] is not Term result) throw Error(ExecutionErrorKind.InvalidStack);
        return result;
    }

    private static object Pop(List<object> stack)
    {
        if (stack.Count == 0) throw Error(ExecutionErrorKind.InvalidStack);
        var top = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return top;
    }

    private static Term PopTerm(List<object> stack) => Pop(stack) as Term ?? throw Error(ExecutionErrorKind.InvalidType);

    private Term Unary(UnaryOp op, Term value) => (op.Kind, value) switch
    {
        (UnaryKind.Negate, BoolTerm b) => Term.Bool(!b.Value),
        (UnaryKind.Parens, _) => value,
        (UnaryKind.Length, StringTerm s) => Term.Integer(Encoding.UTF8.GetByteCount(s.Value)),
        (UnaryKind.Length, BytesTerm b) => Term.Integer(b.Value.Length),
        (UnaryKind.Length, SetTerm s) => Term.Integer(s.Items.Count),
        (UnaryKind.Length, ArrayTerm a) => Term.Integer(a.Items.Count),
        (UnaryKind.Length, MapTerm m) => Term.Integer(m.Entries.Count),
        (UnaryKind.TypeOf, _) => Term.String(value.TypeName),
        (UnaryKind.Ffi, _) => CallExtern(op.FfiName, value, null),
        _ => throw Error(ExecutionErrorKind.InvalidType),
    };

    private Term CallExtern(string? name, Term left, Term? right)
    {
        if (name is null || externs is null || !externs.TryGetValue(name, out var function))
            throw Error(ExecutionErrorKind.UndefinedExtern, name);
        try
        {
            return function(left, right) ?? throw Error(ExecutionErrorKind.ExternEvalError, name);
        }
        catch (BiscuitException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw Error(ExecutionErrorKind.ExternEvalError, $"{name}: {e.Message}");
        }
    }

    private Term Binary(BinaryOp op, Term left, object rightObject, Dictionary<string, Term> variables, int depth)
    {
        switch (op.Kind)
        {
            case BinaryKind.LazyAnd or BinaryKind.LazyOr:
            {
                if (left is not BoolTerm lb || rightObject is not ClosureOp { Parameters.Count: 0 } closure)
                    throw Error(ExecutionErrorKind.InvalidType);
                if (op.Kind == BinaryKind.LazyAnd && !lb.Value) return Term.Bool(false);
                if (op.Kind == BinaryKind.LazyOr && lb.Value) return Term.Bool(true);
                return Evaluate(closure.Ops, variables, depth + 1) as BoolTerm ?? throw Error(ExecutionErrorKind.InvalidType);
            }
            case BinaryKind.All or BinaryKind.Any:
            {
                if (rightObject is not ClosureOp { Parameters.Count: 1 } closure) throw Error(ExecutionErrorKind.InvalidType);
                IEnumerable<Term> items = left switch
                {
                    SetTerm s => s.Items,
                    ArrayTerm a => a.Items,
                    MapTerm m => m.Entries.Select(e => Term.Array([e.Key, e.Value])),
                    _ => throw Error(ExecutionErrorKind.InvalidType),
                };
                var parameter = closure.Parameters[0];
                if (variables.ContainsKey(parameter)) throw Error(ExecutionErrorKind.ShadowedVariable);
                var wantAll = op.Kind == BinaryKind.All;
                try
                {
                    foreach (var item in items)
                    {
                        variables[parameter] = item;
                        var r = Evaluate(closure.Ops, variables, depth + 1) as BoolTerm ?? throw Error(ExecutionErrorKind.InvalidType);
                        if (wantAll && !r.Value) return Term.Bool(false);
                        if (!wantAll && r.Value) return Term.Bool(true);
                    }
                }
                finally
                {
                    variables.Remove(parameter);
                }
                return Term.Bool(wantAll);
            }
        }

        if (rightObject is not Term right) throw Error(ExecutionErrorKind.InvalidType);
        switch (op.Kind, left, right)
        {
            case (BinaryKind.LessThan, IntegerTerm a, IntegerTerm b): return Term.Bool(a.Value < b.Value);
            case (BinaryKind.GreaterThan, IntegerTerm a, IntegerTerm b): return Term.Bool(a.Value > b.Value);
            case (BinaryKind.LessOrEqual, IntegerTerm a, IntegerTerm b): return Term.Bool(a.Value <= b.Value);
            case (BinaryKind.GreaterOrEqual, IntegerTerm a, IntegerTerm b): return Term.Bool(a.Value >= b.Value);
            case (BinaryKind.LessThan, DateTerm a, DateTerm b): return Term.Bool(a.Seconds < b.Seconds);
            case (BinaryKind.GreaterThan, DateTerm a, DateTerm b): return Term.Bool(a.Seconds > b.Seconds);
            case (BinaryKind.LessOrEqual, DateTerm a, DateTerm b): return Term.Bool(a.Seconds <= b.Seconds);
            case (BinaryKind.GreaterOrEqual, DateTerm a, DateTerm b): return Term.Bool(a.Seconds >= b.Seconds);
            case (BinaryKind.Equal, _, _):
                if (left.KindOrder != right.KindOrder) throw Error(ExecutionErrorKind.InvalidType);
                return Term.Bool(left.Equals(right));
            case (BinaryKind.NotEqual, _, _):
                if (left.KindOrder != right.KindOrder) throw Error(ExecutionErrorKind.InvalidType);
                return Term.Bool(!left.Equals(right));
            case (BinaryKind.HeterogeneousEqual, _, _): return Term.Bool(left.Equals(right));
            case (BinaryKind.HeterogeneousNotEqual, _, _): return Term.Bool(!left.Equals(right));
            case (BinaryKind.Contains, SetTerm a, SetTerm b): return Term.Bool(b.Items.All(a.Contains));
            // As biscuit-rust: a set answers for scalar members only (null, arrays and maps are a type error); a map answers
            // false for anything but an integer or string key.
            case (BinaryKind.Contains, SetTerm a, IntegerTerm or DateTerm or BoolTerm or StringTerm or BytesTerm): return Term.Bool(a.Contains(right));
            case (BinaryKind.Contains, StringTerm a, StringTerm b): return Term.Bool(a.Value.Contains(b.Value, StringComparison.Ordinal));
            case (BinaryKind.Contains, ArrayTerm a, _): return Term.Bool(a.Raw.Contains(right));
            case (BinaryKind.Contains, MapTerm a, IntegerTerm or StringTerm): return Term.Bool(a.Get(right) is not null);
            case (BinaryKind.Contains, MapTerm, _): return Term.Bool(false);
            case (BinaryKind.Prefix, StringTerm a, StringTerm b): return Term.Bool(a.Value.StartsWith(b.Value, StringComparison.Ordinal));
            case (BinaryKind.Suffix, StringTerm a, StringTerm b): return Term.Bool(a.Value.EndsWith(b.Value, StringComparison.Ordinal));
            case (BinaryKind.Prefix, ArrayTerm a, ArrayTerm b): return Term.Bool(a.Raw.AsSpan().StartsWith(b.Raw));
            case (BinaryKind.Suffix, ArrayTerm a, ArrayTerm b): return Term.Bool(a.Raw.AsSpan().EndsWith(b.Raw));
            case (BinaryKind.Regex, StringTerm a, StringTerm b): return Term.Bool(Matches(a.Value, b.Value));
            case (BinaryKind.Add, IntegerTerm a, IntegerTerm b): return Term.Integer(Checked(() => checked(a.Value + b.Value)));
            case (BinaryKind.Add, StringTerm a, StringTerm b): return Term.String(a.Value + b.Value);
            case (BinaryKind.Sub, IntegerTerm a, IntegerTerm b): return Term.Integer(Checked(() => checked(a.Value - b.Value)));
            case (BinaryKind.Mul, IntegerTerm a, IntegerTerm b): return Term.Integer(Checked(() => checked(a.Value * b.Value)));
            case (BinaryKind.Div, IntegerTerm a, IntegerTerm b):
                if (b.Value == 0) throw Error(ExecutionErrorKind.DivideByZero);
                if (a.Value == long.MinValue && b.Value == -1) throw Error(ExecutionErrorKind.Overflow);
                return Term.Integer(a.Value / b.Value);
            case (BinaryKind.And, BoolTerm a, BoolTerm b): return Term.Bool(a.Value & b.Value);
            case (BinaryKind.Or, BoolTerm a, BoolTerm b): return Term.Bool(a.Value | b.Value);
            case (BinaryKind.Intersection, SetTerm a, SetTerm b): return Term.Set(a.Items.Where(b.Contains));
            case (BinaryKind.Union, SetTerm a, SetTerm b): return Term.Set(a.Items.Concat(b.Items));
            case (BinaryKind.BitwiseAnd, IntegerTerm a, IntegerTerm b): return Term.Integer(a.Value & b.Value);
            case (BinaryKind.BitwiseOr, IntegerTerm a, IntegerTerm b): return Term.Integer(a.Value | b.Value);
            case (BinaryKind.BitwiseXor, IntegerTerm a, IntegerTerm b): return Term.Integer(a.Value ^ b.Value);
            case (BinaryKind.Get, ArrayTerm a, IntegerTerm i):
                return i.Value >= 0 && i.Value < a.Raw.Length ? a.Raw[i.Value] : Term.Null;
            case (BinaryKind.Get, MapTerm m, IntegerTerm or StringTerm): return m.Get(right) ?? Term.Null;
            case (BinaryKind.Ffi, _, _): return CallExtern(op.FfiName, left, right);
            default: throw Error(ExecutionErrorKind.InvalidType);
        }
    }

    private static long Checked(Func<long> f)
    {
        try
        {
            return f();
        }
        catch (OverflowException)
        {
            throw Error(ExecutionErrorKind.Overflow);
        }
    }

    private static bool Matches(string input, string pattern)
    {
        // NonBacktracking: linear-time matching like the reference's regex crate (no ReDoS).
        var regex = RegexCache.TryGetValue(pattern, out var cached) ? cached : Compile(pattern);
        if (regex is null) throw Error(ExecutionErrorKind.InvalidType, "invalid regular expression");
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            throw Error(ExecutionErrorKind.InvalidType, "regular expression timed out");
        }
    }

    private static Regex? Compile(string pattern)
    {
        Regex? regex;
        try
        {
            regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            regex = null;
        }
        if (RegexCache.Count >= MaxRegexCacheSize) RegexCache.Clear();
        RegexCache[pattern] = regex;
        return regex;
    }

    private static BiscuitExecutionException Error(ExecutionErrorKind kind, string? detail = null) => new(kind, detail);
}
