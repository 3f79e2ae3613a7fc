using System.Collections.Concurrent;

namespace Aim.Tokens;

/// <summary>
/// Recently seen values by their text, bounded and emptied when full: lets a parser hand back the instance it made
/// before (looked up by a span, so no string is allocated to ask) instead of parsing and allocating again.
/// Keep only immutable values that are valid for their text.
/// </summary>
internal sealed class RecentByText<T>
    where T : class
{
    private readonly int _capacity;
    private readonly ConcurrentDictionary<string, T> _values = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, T>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    public RecentByText(int capacity)
    {
        _capacity = capacity;
        _bySpan = _values.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool TryGet(string text, out T value) => _values.TryGetValue(text, out value!);

    public bool TryGet(ReadOnlySpan<char> text, out T value) => _bySpan.TryGetValue(text, out value!);

    public void Add(string text, T value)
    {
        if (_values.Count >= _capacity)
        {
            _values.Clear();
        }

        _values[text] = value;
    }
}
