using System.Text;

namespace Aim.Biscuit.Datalog;

/// <summary>Unary operations of the expression language.</summary>
public enum UnaryKind
{
    /// <summary><c>!x</c>.</summary>
    Negate = 0,
    /// <summary><c>(x)</c>.</summary>
    Parens = 1,
    /// <summary><c>x.length()</c>.</summary>
    Length = 2,
    /// <summary><c>x.type()</c>.</summary>
    TypeOf = 3,
    /// <summary><c>x.extern::name()</c>.</summary>
    Ffi = 4,
}

/// <summary>Binary operations of the expression language (values match the protobuf enum).</summary>
public enum BinaryKind
{
    /// <summary><c>&lt;</c></summary>
    LessThan = 0,
    /// <summary><c>&gt;</c></summary>
    GreaterThan = 1,
    /// <summary><c>&lt;=</c></summary>
    LessOrEqual = 2,
    /// <summary><c>&gt;=</c></summary>
    GreaterOrEqual = 3,
    /// <summary><c>===</c></summary>
    Equal = 4,
    /// <summary><c>.contains()</c></summary>
    Contains = 5,
    /// <summary><c>.starts_with()</c></summary>
    Prefix = 6,
    /// <summary><c>.ends_with()</c></summary>
    Suffix = 7,
    /// <summary><c>.matches()</c></summary>
    Regex = 8,
    /// <summary><c>+</c></summary>
    Add = 9,
    /// <summary><c>-</c></summary>
    Sub = 10,
    /// <summary><c>*</c></summary>
    Mul = 11,
    /// <summary><c>/</c></summary>
    Div = 12,
    /// <summary>eager <c>&amp;&amp;</c></summary>
    And = 13,
    /// <summary>eager <c>||</c></summary>
    Or = 14,
    /// <summary><c>.intersection()</c></summary>
    Intersection = 15,
    /// <summary><c>.union()</c></summary>
    Union = 16,
    /// <summary><c>&amp;</c></summary>
    BitwiseAnd = 17,
    /// <summary><c>|</c></summary>
    BitwiseOr = 18,
    /// <summary><c>^</c></summary>
    BitwiseXor = 19,
    /// <summary><c>!==</c></summary>
    NotEqual = 20,
    /// <summary><c>==</c></summary>
    HeterogeneousEqual = 21,
    /// <summary><c>!=</c></summary>
    HeterogeneousNotEqual = 22,
    /// <summary>short-circuiting <c>&amp;&amp;</c></summary>
    LazyAnd = 23,
    /// <summary>short-circuiting <c>||</c></summary>
    LazyOr = 24,
    /// <summary><c>.all($x -> ...)</c></summary>
    All = 25,
    /// <summary><c>.any($x -> ...)</c></summary>
    Any = 26,
    /// <summary><c>.get()</c></summary>
    Get = 27,
    /// <summary><c>.extern::name(arg)</c></summary>
    Ffi = 28,
}

/// <summary>One opcode of the stack machine that evaluates expressions.</summary>
public abstract class Op
{
    private protected Op() { }
}

/// <summary>Pushes a value (or a variable's binding).</summary>
public sealed class ValueOp(Term value) : Op
{
    /// <summary>The value or variable.</summary>
    public Term Value { get; } = value;
}

/// <summary>Pops one value, pushes the result.</summary>
public sealed class UnaryOp(UnaryKind kind, string? ffiName = null) : Op
{
    /// <summary>The operation.</summary>
    public UnaryKind Kind { get; } = kind;
    /// <summary>For <see cref="UnaryKind.Ffi"/>: the extern function name.</summary>
    public string? FfiName { get; } = ffiName;
}

/// <summary>Pops two values, pushes the result.</summary>
public sealed class BinaryOp(BinaryKind kind, string? ffiName = null) : Op
{
    /// <summary>The operation.</summary>
    public BinaryKind Kind { get; } = kind;
    /// <summary>For <see cref="BinaryKind.Ffi"/>: the extern function name.</summary>
    public string? FfiName { get; } = ffiName;
}

/// <summary>Pushes a closure (used by <c>.any</c>, <c>.all</c> and the lazy boolean operators).</summary>
public sealed class ClosureOp(IReadOnlyList<string> parameters, IReadOnlyList<Op> ops) : Op
{
    /// <summary>Parameter names, without <c>$</c>.</summary>
    public IReadOnlyList<string> Parameters { get; } = parameters;
    /// <summary>The closure body.</summary>
    public IReadOnlyList<Op> Ops { get; } = ops;
}

/// <summary>An expression: a list of opcodes in reverse Polish order.</summary>
public sealed class Expression(IReadOnlyList<Op> ops)
{
    /// <summary>The opcodes.</summary>
    public IReadOnlyList<Op> Ops { get; } = ops;

    /// <summary>The expression's Datalog text.</summary>
    public override string ToString() => ExpressionPrinter.Print(Ops);
}

internal static class ExpressionPrinter
{
    internal static string Print(IReadOnlyList<Op> ops)
    {
        var stack = new Stack<string>();
        foreach (var op in ops)
        {
            switch (op)
            {
                case ValueOp v:
                    stack.Push(v.Value.ToString());
                    break;
                case ClosureOp c:
                    var body = Print(c.Ops);
                    stack.Push(c.Parameters.Count == 0 ? body : string.Join(", ", c.Parameters.Select(p => "$" + p)) + " -> " + body);
                    break;
                case UnaryOp u:
                    if (stack.Count < 1) return "<invalid expression>";
                    var a = stack.Pop();
                    stack.Push(u.Kind switch
                    {
                        UnaryKind.Negate => "!" + a,
                        UnaryKind.Parens => "(" + a + ")",
                        UnaryKind.Length => a + ".length()",
                        UnaryKind.TypeOf => a + ".type()",
                        UnaryKind.Ffi => a + ".extern::" + u.FfiName + "()",
                        _ => a,
                    });
                    break;
                case BinaryOp b:
                    if (stack.Count < 2) return "<invalid expression>";
                    var right = stack.Pop();
                    var left = stack.Pop();
                    stack.Push(b.Kind switch
                    {
                        BinaryKind.LessThan => $"{left} < {right}",
                        BinaryKind.GreaterThan => $"{left} > {right}",
                        BinaryKind.LessOrEqual => $"{left} <= {right}",
                        BinaryKind.GreaterOrEqual => $"{left} >= {right}",
                        BinaryKind.Equal => $"{left} === {right}",
                        BinaryKind.NotEqual => $"{left} !== {right}",
                        BinaryKind.HeterogeneousEqual => $"{left} == {right}",
                        BinaryKind.HeterogeneousNotEqual => $"{left} != {right}",
                        BinaryKind.Contains => $"{left}.contains({right})",
                        BinaryKind.Prefix => $"{left}.starts_with({right})",
                        BinaryKind.Suffix => $"{left}.ends_with({right})",
                        BinaryKind.Regex => $"{left}.matches({right})",
                        BinaryKind.Add => $"{left} + {right}",
                        BinaryKind.Sub => $"{left} - {right}",
                        BinaryKind.Mul => $"{left} * {right}",
                        BinaryKind.Div => $"{left} / {right}",
                        BinaryKind.And or BinaryKind.LazyAnd => $"{left} && {right}",
                        BinaryKind.Or or BinaryKind.LazyOr => $"{left} || {right}",
                        BinaryKind.Intersection => $"{left}.intersection({right})",
                        BinaryKind.Union => $"{left}.union({right})",
                        BinaryKind.BitwiseAnd => $"{left} & {right}",
                        BinaryKind.BitwiseOr => $"{left} | {right}",
                        BinaryKind.BitwiseXor => $"{left} ^ {right}",
                        BinaryKind.All => $"{left}.all({right})",
                        BinaryKind.Any => $"{left}.any({right})",
                        BinaryKind.Get => $"{left}.get({right})",
                        BinaryKind.Ffi => $"{left}.extern::{b.FfiName}({right})",
                        _ => $"{left} ? {right}",
                    });
                    break;
            }
        }
        return stack.Count == 1 ? stack.Pop() : "<invalid expression>";
    }
}
