using System.Collections.Concurrent;

namespace Aim.Tokens.Verification;

/// <summary>
/// Remembers tokens that passed V1-V5 (keyed by the exact token text), so a re-verification only re-checks expiry,
/// the request and revocation. Bounded: when full it is emptied (simple and safe; a miss only costs a full verify).
/// </summary>
internal sealed class VerifiedTokenCache(int capacity)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public bool TryGet(string token, out Entry entry) => _entries.TryGetValue(token, out entry!);

    public void Set(string token, Entry entry)
    {
        if (capacity <= 0)
        {
            return;
        }

        if (_entries.Count >= capacity && !_entries.ContainsKey(token))
        {
            _entries.Clear();
        }

        _entries[token] = entry;
    }

    public void Remove(string token) => _entries.TryRemove(token, out _);

    public void Clear() => _entries.Clear();

    internal sealed record Entry(AipVerifiedToken Token, long RevocationVersion);
}
