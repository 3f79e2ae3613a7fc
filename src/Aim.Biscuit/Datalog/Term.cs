using System.Text;

namespace Aim.Biscuit.Datalog;

/// <summary>
/// A Datalog value or variable. Terms are immutable, compare structurally and have a total order
/// (first by kind, then by value) so that sets and maps print in a stable order.
/// </summary>
public abstract class Term : IEquatable<Term>, IComparable<Term>
{
    private protected Term() { }

    internal abstract int KindOrder { get; }

    /// <summary>The name <c>.type()</c> returns for this term (<c>integer</c>, <c>string</c>, ...).</summary>
    public abstract string TypeName { get; }

    /// <summary>True when the term is or contains a variable.</summary>
    public virtual bool HasVariables => false;

    /// <summary>Creates an integer term.</summary>
    public static Term Integer(long value) => new IntegerTerm(value);

    /// <summary>Creates a string term.</summary>
    public static Term String(string value) => new StringTerm(value);

    /// <summary>Creates a date term from a UTC instant (seconds precision).</summary>
    public static Term Date(DateTimeOffset value) => new DateTerm(checked((ulong)value.ToUnixTimeSeconds()));

    /// <summary>Creates a byte array term.</summary>
    public static Term Bytes(ReadOnlySpan<byte> value) => new BytesTerm(value.ToArray());

    /// <summary>Creates a boolean term.</summary>
    public static Term Bool(bool value) => value ? BoolTerm.True : BoolTerm.False;

    /// <summary>The null term.</summary>
    public static Term Null => NullTerm.Instance;

    /// <summary>Creates a variable (name without the <c>$</c>).</summary>
    public static Term Variable(string name) => new VariableTerm(name);

    /// <summary>Creates a set (duplicates removed).</summary>
    public static Term Set(IEnumerable<Term> values) => new SetTerm(values);

    /// <summary>Creates an array.</summary>
    public static Term Array(IEnumerable<Term> values) => new ArrayTerm(values.ToArray());

    /// <summary>Creates a map; keys must be integer or string terms.</summary>
    public static Term Map(IEnumerable<KeyValuePair<Term, Term>> entries) => new MapTerm(entries);

    /// <inheritdoc />
    public abstract bool Equals(Term? other);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Term t && Equals(t);

    /// <inheritdoc />
    public abstract override int GetHashCode();

    /// <inheritdoc />
    public int CompareTo(Term? other)
    {
        if (other is null) return 1;
        if (KindOrder != other.KindOrder) return KindOrder.CompareTo(other.KindOrder);
        return CompareSameKind(other);
    }

    private protected abstract int CompareSameKind(Term other);

    /// <summary>The Datalog text form of the term.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }

    internal abstract void WriteTo(StringBuilder sb);
}

/// <summary>A variable, <c>$name</c>.</summary>
public sealed class VariableTerm(string name) : Term
{
    /// <summary>The variable name without <c>$</c>.</summary>
    public string Name { get; } = name;
    internal override int KindOrder => 0;
    /// <inheritdoc />
    public override string TypeName => "variable";
    /// <inheritdoc />
    public override bool HasVariables => true;
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is VariableTerm v && v.Name == Name;
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(0, Name);
    private protected override int CompareSameKind(Term other) => string.CompareOrdinal(Name, ((VariableTerm)other).Name);
    internal override void WriteTo(StringBuilder sb) => sb.Append('$').Append(Name);
}

/// <summary>A signed 64-bit integer.</summary>
public sealed class IntegerTerm(long value) : Term
{
    /// <summary>The value.</summary>
    public long Value { get; } = value;
    internal override int KindOrder => 1;
    /// <inheritdoc />
    public override string TypeName => "integer";
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is IntegerTerm i && i.Value == Value;
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(1, Value);
    private protected override int CompareSameKind(Term other) => Value.CompareTo(((IntegerTerm)other).Value);
    internal override void WriteTo(StringBuilder sb) => sb.Append(Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>A UTF-8 string.</summary>
public sealed class StringTerm(string value) : Term
{
    /// <summary>The value.</summary>
    public string Value { get; } = value;
    internal override int KindOrder => 2;
    /// <inheritdoc />
    public override string TypeName => "string";
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is StringTerm s && s.Value == Value;
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(2, Value);
    private protected override int CompareSameKind(Term other) => string.CompareOrdinal(Value, ((StringTerm)other).Value);
    internal override void WriteTo(StringBuilder sb)
    {
        sb.Append('"');
        foreach (var c in Value)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        sb.Append('"');
    }
}

/// <summary>A date: seconds since the Unix epoch, UTC.</summary>
public sealed class DateTerm(ulong seconds) : Term
{
    /// <summary>Seconds since 1970-01-01T00:00:00Z.</summary>
    public ulong Seconds { get; } = seconds;
    internal override int KindOrder => 3;
    /// <inheritdoc />
    public override string TypeName => "date";
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is DateTerm d && d.Seconds == Seconds;
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(3, Seconds);
    private protected override int CompareSameKind(Term other) => Seconds.CompareTo(((DateTerm)other).Seconds);
    internal override void WriteTo(StringBuilder sb)
    {
        // Dates beyond DateTimeOffset's range still print, as raw seconds, instead of throwing.
        if (Seconds <= 253402300799UL)
            sb.Append(DateTimeOffset.FromUnixTimeSeconds((long)Seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        else
            sb.Append(Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>A byte array, printed <c>hex:...</c>.</summary>
public sealed class BytesTerm : Term
{
    private readonly byte[] _value;
    internal BytesTerm(byte[] value) => _value = value;
    /// <summary>The bytes (read-only view).</summary>
    public ReadOnlySpan<byte> Value => _value;
    internal byte[] Raw => _value;
    internal override int KindOrder => 4;
    /// <inheritdoc />
    public override string TypeName => "bytes";
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is BytesTerm b && b._value.AsSpan().SequenceEqual(_value);
    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(4);
        h.AddBytes(_value);
        return h.ToHashCode();
    }
    private protected override int CompareSameKind(Term other) => _value.AsSpan().SequenceCompareTo(((BytesTerm)other)._value);
    internal override void WriteTo(StringBuilder sb) => sb.Append("hex:").Append(Convert.ToHexStringLower(_value));
}

/// <summary>A boolean.</summary>
public sealed class BoolTerm : Term
{
    internal static readonly BoolTerm True = new(true);
    internal static readonly BoolTerm False = new(false);
    private BoolTerm(bool value) => Value = value;
    /// <summary>The value.</summary>
    public bool Value { get; }
    internal override int KindOrder => 5;
    /// <inheritdoc />
    public override string TypeName => "bool";
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is BoolTerm b && b.Value == Value;
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(5, Value);
    private protected override int CompareSameKind(Term other) => Value.CompareTo(((BoolTerm)other).Value);
    internal override void WriteTo(StringBuilder sb) => sb.Append(Value ? "true" : "false");
}

/// <summary>A set of terms, kept sorted and deduplicated.</summary>
public sealed class SetTerm : Term
{
    private readonly Term[] _items;
    private readonly int _hash;

    internal SetTerm(IEnumerable<Term> values)
    {
        var sorted = new SortedSet<Term>(values);
        _items = [.. sorted];
        var h = new HashCode();
        h.Add(6);
        foreach (var t in _items) h.Add(t);
        _hash = h.ToHashCode();
    }

    /// <summary>The elements in sorted order.</summary>
    public IReadOnlyList<Term> Items => _items;
    internal override int KindOrder => 6;
    /// <inheritdoc />
    public override string TypeName => "set";
    /// <inheritdoc />
    public override bool HasVariables => _items.Any(t => t.HasVariables);
    /// <summary>True when the set contains <paramref name="term"/>.</summary>
    public bool Contains(Term term) => System.Array.BinarySearch(_items, term) >= 0;
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is SetTerm s && s._hash == _hash && s._items.AsSpan().SequenceEqual(_items);
    /// <inheritdoc />
    public override int GetHashCode() => _hash;
    private protected override int CompareSameKind(Term other) => CompareSeq(_items, ((SetTerm)other)._items);
    internal static int CompareSeq(Term[] a, Term[] b)
    {
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            var c = a[i].CompareTo(b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }
    internal override void WriteTo(StringBuilder sb)
    {
        if (_items.Length == 0)
        {
            sb.Append("{,}");
            return;
        }
        sb.Append('{');
        for (var i = 0; i < _items.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            _items[i].WriteTo(sb);
        }
        sb.Append('}');
    }
}

/// <summary>The null value.</summary>
public sealed class NullTerm : Term
{
    internal static readonly NullTerm Instance = new();
    private NullTerm() { }
    internal override int KindOrder => 7;
    /// <inheritdoc />
    public override string TypeName => "null";
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is NullTerm;
    /// <inheritdoc />
    public override int GetHashCode() => 7;
    private protected override int CompareSameKind(Term other) => 0;
    internal override void WriteTo(StringBuilder sb) => sb.Append("null");
}

/// <summary>An ordered list of terms.</summary>
public sealed class ArrayTerm : Term
{
    private readonly Term[] _items;
    private readonly int _hash;

    internal ArrayTerm(Term[] items)
    {
        _items = items;
        var h = new HashCode();
        h.Add(8);
        foreach (var t in _items) h.Add(t);
        _hash = h.ToHashCode();
    }

    /// <summary>The elements.</summary>
    public IReadOnlyList<Term> Items => _items;
    internal Term[] Raw => _items;
    internal override int KindOrder => 8;
    /// <inheritdoc />
    public override string TypeName => "array";
    /// <inheritdoc />
    public override bool HasVariables => _items.Any(t => t.HasVariables);
    /// <inheritdoc />
    public override bool Equals(Term? other) => other is ArrayTerm a && a._hash == _hash && a._items.AsSpan().SequenceEqual(_items);
    /// <inheritdoc />
    public override int GetHashCode() => _hash;
    private protected override int CompareSameKind(Term other) => SetTerm.CompareSeq(_items, ((ArrayTerm)other)._items);
    internal override void WriteTo(StringBuilder sb)
    {
        sb.Append('[');
        for (var i = 0; i < _items.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            _items[i].WriteTo(sb);
        }
        sb.Append(']');
    }
}

/// <summary>A map from integer or string keys to terms, kept sorted by key (integers first).</summary>
public sealed class MapTerm : Term
{
    private readonly KeyValuePair<Term, Term>[] _entries;
    private readonly int _hash;

    internal MapTerm(IEnumerable<KeyValuePair<Term, Term>> entries)
    {
        var sorted = new SortedDictionary<Term, Term>();
        foreach (var (k, v) in entries)
        {
            if (k is not IntegerTerm and not StringTerm)
                throw new BiscuitFormatException(FormatErrorKind.InvalidBlock, "map keys must be integers or strings");
            sorted[k] = v;
        }
        _entries = [.. sorted];
        var h = new HashCode();
        h.Add(9);
        foreach (var (k, v) in _entries)
        {
            h.Add(k);
            h.Add(v);
        }
        _hash = h.ToHashCode();
    }

    /// <summary>The entries sorted by key.</summary>
    public IReadOnlyList<KeyValuePair<Term, Term>> Entries => _entries;
    internal override int KindOrder => 9;
    /// <inheritdoc />
    public override string TypeName => "map";
    /// <inheritdoc />
    public override bool HasVariables => _entries.Any(e => e.Value.HasVariables);

    /// <summary>The value stored under <paramref name="key"/>, or null.</summary>
    public Term? Get(Term key)
    {
        int lo = 0, hi = _entries.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >> 1;
            var c = _entries[mid].Key.CompareTo(key);
            if (c == 0) return _entries[mid].Value;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }

    /// <inheritdoc />
    public override bool Equals(Term? other)
    {
        if (other is not MapTerm m || m._hash != _hash || m._entries.Length != _entries.Length) return false;
        for (var i = 0; i < _entries.Length; i++)
            if (!_entries[i].Key.Equals(m._entries[i].Key) || !_entries[i].Value.Equals(m._entries[i].Value)) return false;
        return true;
    }
    /// <inheritdoc />
    public override int GetHashCode() => _hash;
    private protected override int CompareSameKind(Term other)
    {
        var o = ((MapTerm)other)._entries;
        for (var i = 0; i < Math.Min(_entries.Length, o.Length); i++)
        {
            var c = _entries[i].Key.CompareTo(o[i].Key);
            if (c != 0) return c;
            c = _entries[i].Value.CompareTo(o[i].Value);
            if (c != 0) return c;
        }
        return _entries.Length.CompareTo(o.Length);
    }
    internal override void WriteTo(StringBuilder sb)
    {
        sb.Append('{');
        for (var i = 0; i < _entries.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            _entries[i].Key.WriteTo(sb);
            sb.Append(": ");
            _entries[i].Value.WriteTo(sb);
        }
        sb.Append('}');
    }
}
