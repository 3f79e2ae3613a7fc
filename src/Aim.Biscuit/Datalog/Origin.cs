namespace Aim.Biscuit.Datalog;

/// <summary>The set of block ids that allowed a fact to exist (sorted, immutable).</summary>
internal sealed class Origin : IEquatable<Origin>
{
    /// <summary>Block id of the authorizer.</summary>
    internal const ulong Authorizer = ulong.MaxValue;

    private readonly ulong[] _ids;
    private readonly int _hash;

    private Origin(ulong[] ids)
    {
        _ids = ids;
        var h = new HashCode();
        foreach (var id in ids) h.Add(id);
        _hash = h.ToHashCode();
    }

    internal static Origin Of(ulong id) => new([id]);

    internal IReadOnlyList<ulong> Ids => _ids;

    internal Origin Union(Origin other)
    {
        if (ReferenceEquals(this, other)) return this;
        var merged = new SortedSet<ulong>(_ids);
        merged.UnionWith(other._ids);
        if (merged.Count == _ids.Length) return this;
        if (merged.Count == other._ids.Length) return other;
        return new Origin([.. merged]);
    }

    internal Origin Union(ulong id) => Array.IndexOf(_ids, id) >= 0 ? this : new Origin([.. new SortedSet<ulong>(_ids) { id }]);

    internal bool IsSubsetOf(TrustedOrigins trusted)
    {
        foreach (var id in _ids)
            if (!trusted.Contains(id)) return false;
        return true;
    }

    public bool Equals(Origin? other) => other is not null && other._hash == _hash && other._ids.AsSpan().SequenceEqual(_ids);

    public override bool Equals(object? obj) => Equals(obj as Origin);

    public override int GetHashCode() => _hash;
}

/// <summary>The block ids a rule, check or policy may read facts from.</summary>
internal sealed class TrustedOrigins
{
    private readonly HashSet<ulong> _ids;

    private TrustedOrigins(HashSet<ulong> ids) => _ids = ids;

    internal bool Contains(ulong id) => _ids.Contains(id);

    /// <summary>The default: authority block and authorizer.</summary>
    internal static TrustedOrigins Default() => new([0, Origin.Authorizer]);

    /// <summary>
    /// Resolves scopes for code in <paramref name="currentBlock"/>: without scopes, the defaults plus the
    /// current block; otherwise the current block, the authorizer and what each scope names.
    /// </summary>
    internal static TrustedOrigins FromScopes(IReadOnlyList<Scope> scopes, TrustedOrigins defaults, ulong currentBlock,
        IReadOnlyDictionary<PublicKey, List<ulong>> blocksByKey)
    {
        if (scopes.Count == 0)
        {
            var d = new HashSet<ulong>(defaults._ids) { currentBlock, Origin.Authorizer };
            return new TrustedOrigins(d);
        }
        var ids = new HashSet<ulong> { currentBlock, Origin.Authorizer };
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
                        ids.UnionWith(blocks);
                    break;
            }
        }
        return new TrustedOrigins(ids);
    }
}
