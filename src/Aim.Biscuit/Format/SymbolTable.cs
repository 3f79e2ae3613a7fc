namespace Aim.Biscuit.Format;

/// <summary>
/// Interned strings of a token: the 28 default symbols at indexes 0..27, then the token's own
/// symbols from index 1024.
/// </summary>
internal sealed class SymbolTable
{
    internal const ulong Offset = 1024;

    internal static readonly string[] DefaultSymbols =
    [
        "read", "write", "resource", "operation", "right", "time", "role", "owner", "tenant", "namespace",
        "user", "team", "service", "admin", "email", "group", "member", "ip_address", "client", "client_ip",
        "domain", "path", "version", "cluster", "node", "hostname", "nonce", "query",
    ];

    private static readonly Dictionary<string, ulong> DefaultIndex =
        DefaultSymbols.Select((s, i) => (s, (ulong)i)).ToDictionary(p => p.s, p => p.Item2, StringComparer.Ordinal);

    private readonly List<string> _symbols;
    private readonly Dictionary<string, ulong> _index;

    internal SymbolTable()
    {
        _symbols = [];
        _index = new Dictionary<string, ulong>(StringComparer.Ordinal);
    }

    private SymbolTable(SymbolTable other)
    {
        _symbols = [.. other._symbols];
        _index = new Dictionary<string, ulong>(other._index, StringComparer.Ordinal);
    }

    internal IReadOnlyList<string> Symbols => _symbols;

    internal SymbolTable Clone() => new(this);

    internal string Get(ulong index)
    {
        if (index < Offset)
        {
            if (index < (ulong)DefaultSymbols.Length) return DefaultSymbols[index];
        }
        else if (index - Offset < (ulong)_symbols.Count)
        {
            return _symbols[(int)(index - Offset)];
        }
        throw new BiscuitFormatException(FormatErrorKind.UnknownSymbol, $"unknown symbol {index}");
    }

    internal ulong Insert(string symbol)
    {
        if (DefaultIndex.TryGetValue(symbol, out var d)) return d;
        if (_index.TryGetValue(symbol, out var i)) return i;
        var index = Offset + (ulong)_symbols.Count;
        _symbols.Add(symbol);
        _index[symbol] = index;
        return index;
    }

    /// <summary>Appends a block's symbol list; a symbol already present is a format error.</summary>
    internal void Extend(IEnumerable<string> symbols)
    {
        foreach (var s in symbols)
        {
            if (DefaultIndex.ContainsKey(s) || !_index.TryAdd(s, Offset + (ulong)_symbols.Count))
                throw new BiscuitFormatException(FormatErrorKind.SymbolTableOverlap, $"symbol '{s}' is already in the table");
            _symbols.Add(s);
        }
    }
}

/// <summary>Interned public keys referenced by <c>trusting</c> scopes.</summary>
internal sealed class PublicKeyTable
{
    private readonly List<PublicKey> _keys = [];

    internal IReadOnlyList<PublicKey> Keys => _keys;

    internal PublicKeyTable Clone()
    {
        var t = new PublicKeyTable();
        t._keys.AddRange(_keys);
        return t;
    }

    internal PublicKey Get(long index) =>
        index >= 0 && index < _keys.Count ? _keys[(int)index] : throw new BiscuitFormatException(FormatErrorKind.UnknownExternalKey, $"unknown public key {index}");

    internal long Insert(PublicKey key)
    {
        var i = _keys.IndexOf(key);
        if (i >= 0) return i;
        _keys.Add(key);
        return _keys.Count - 1;
    }

    internal void Extend(IEnumerable<PublicKey> keys)
    {
        foreach (var k in keys)
        {
            if (_keys.Contains(k))
                throw new BiscuitFormatException(FormatErrorKind.SymbolTableOverlap, $"public key {k} is already in the table");
            _keys.Add(k);
        }
    }
}
