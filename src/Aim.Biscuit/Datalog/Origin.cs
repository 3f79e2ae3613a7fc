namespace Aim.Biscuit.Datalog;

/// <summary>The set of block ids that allowed a fact to exist (sorted, immutable).</summary>
internal sealed class Origin : IEquatable<Origin>
{
    /// <summary>Block id of the authorizer.</summary>
    internal const ulong Authorizer = ulong.MaxValue;

    private static readonly Origin[] Singles = CreateSingles();
    private static readonly Origin AuthorizerOnly = new([Authorizer]);

    private readonly ulong[] _ids;
    private readonly int _hash;

    // Bits for block ids below 64 and a flag for the authorizer: subset tests without a loop or a lookup.
    private readonly ulong _lowMask;
    private readonly bool _hasAuthorizer;
    private readonly bool _hasOtherIds;

    private Origin(ulong[] ids)
    {
        _ids = ids;
        var h = new HashCode();
        foreach (var id in ids)
        {
            h.Add(id);
            if (id < 64) _lowMask |= 1UL << (int)id;
            else if (id == Authorizer) _hasAuthorizer = true;
            else _hasOtherIds = true;
        }
        _hash = h.ToHashCode();
    }

    private static Origin[] CreateSingles()
    {
        var singles = new Origin[64];
        for (var i = 0; i < singles.Length; i++) singles[i] = new Origin([(ulong)i]);
        return singles;
    }

    /// <summary>The origin made of one block id (shared instances for the common ids).</summary>
    internal static Origin Of(ulong id) => id < 64 ? Singles[id] : id == Authorizer ? AuthorizerOnly : new([id]);

    internal IReadOnlyList<ulong> Ids => _ids;

    internal Origin Union(Origin other)
    {
        if (ReferenceEquals(this, other)) return this;
        if (!_hasOtherIds && !other._hasOtherIds)
        {
            var mask = _lowMask | other._lowMask;
            var authorizer = _hasAuthorizer | other._hasAuthorizer;
            if (mask == _lowMask && authorizer == _hasAuthorizer) return this;
            if (mask == other._lowMask && authorizer == other._hasAuthorizer) return other;
        }
        // Both id lists are sorted: merge them, dropping duplicates.
        var merged = new ulong[_ids.Length + other._ids.Length];
        int i = 0, j = 0, n = 0;
        while (i < _ids.Length || j < other._ids.Length)
        {
            ulong next;
            if (j >= other._ids.Length || (i < _ids.Length && _ids[i] < other._ids[j])) next = _ids[i++];
            else if (i >= _ids.Length || other._ids[j] < _ids[i]) next = other._ids[j++];
            else
            {
                next = _ids[i++];
                j++;
            }
            merged[n++] = next;
        }
        if (n == _ids.Length) return this;
        if (n == other._ids.Length) return other;
        return new Origin(merged[..n]);
    }

    internal Origin Union(ulong id) => Array.IndexOf(_ids, id) >= 0 ? this : Union(Of(id));

    internal bool IsSubsetOf(TrustedOrigins trusted)
    {
        if (!_hasOtherIds) return trusted.ContainsAll(_lowMask, _hasAuthorizer);
        foreach (var id in _ids)
            if (!trusted.Contains(id)) return false;
        return true;
    }

    public bool Equals(Origin? other) =>
        ReferenceEquals(this, other) || (other is not null && other._hash == _hash && other._ids.AsSpan().SequenceEqual(_ids));

    public override bool Equals(object? obj) => Equals(obj as Origin);

    public override int GetHashCode() => _hash;
}

/// <summary>The block ids a rule, check or policy may read facts from (immutable).</summary>
internal sealed class TrustedOrigins
{
    private static readonly TrustedOrigins DefaultOrigins = new(1UL, authorizer: true, null);

    private readonly ulong _lowMask;
    private readonly bool _authorizer;
    private readonly HashSet<ulong>? _otherIds;

    private TrustedOrigins(ulong lowMask, bool authorizer, HashSet<ulong>? otherIds)
    {
        _lowMask = lowMask;
        _authorizer = authorizer;
        _otherIds = otherIds;
    }

    internal bool Contains(ulong id) =>
        id < 64 ? (_lowMask & (1UL << (int)id)) != 0 : id == Origin.Authorizer ? _authorizer : _otherIds?.Contains(id) == true;

    internal bool ContainsAll(ulong lowMask, bool authorizer) => (lowMask & ~_lowMask) == 0 && (!authorizer || _authorizer);

    /// <summary>The default: authority block and authorizer.</summary>
    internal static TrustedOrigins Default() => DefaultOrigins;

    /// <summary>
    /// Resolves scopes for code in <paramref name="currentBlock"/>: without scopes, the defaults plus the
    /// current block; otherwise the current block, the authorizer and what each scope names.
    /// </summary>
    internal static TrustedOrigins FromScopes(IReadOnlyList<Scope> scopes, TrustedOrigins defaults, ulong currentBlock,
        IReadOnlyDictionary<PublicKey, List<ulong>> blocksByKey)
    {
        if (scopes.Count == 0)
        {
            // Immutable, so the defaults are shared when they already hold the current block.
            if (defaults.Contains(currentBlock) && defaults._authorizer) return defaults;
            var d = new Builder(defaults);
            d.Add(currentBlock);
            d.Add(Origin.Authorizer);
            return d.Build();
        }
        var ids = new Builder(null);
        ids.Add(currentBlock);
        ids.Add(Origin.Authorizer);
        foreach (var scope in scopes)
        {
            switch (scope.Kind)
            {
                case ScopeKind.Authority:
                    ids.Add(0);
                    break;
                case ScopeKind.Previous:
                    if (currentBlock != Origin.Authorizer)
                        for (ulong i = 0; i <= currentBlock; i++) ids.Add(i);
                    break;
                case ScopeKind.PublicKey:
                    if (scope.Key is not null && blocksByKey.TryGetValue(scope.Key, out var blocks))
                        foreach (var b in blocks) ids.Add(b);
                    break;
            }
        }
        return ids.Build();
    }

    private struct Builder(TrustedOrigins? from)
    {
        private ulong _lowMask = from?._lowMask ?? 0;
        private bool _authorizer = from?._authorizer ?? false;
        private HashSet<ulong>? _otherIds = from?._otherIds is null ? null : new HashSet<ulong>(from._otherIds);

        internal void Add(ulong id)
        {
            if (id < 64) _lowMask |= 1UL << (int)id;
            else if (id == Origin.Authorizer) _authorizer = true;
            else (_otherIds ??= []).Add(id);
        }

        internal readonly TrustedOrigins Build() => new(_lowMask, _authorizer, _otherIds);
    }
}
