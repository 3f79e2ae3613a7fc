namespace Aim.Capabilities;

/// <summary>
/// Finds the leftmost occurrence of a glob piece (literal characters and <c>?</c> for any one character)
/// with the bit-parallel Shift-And algorithm: one pass over the text, ⌈piece length / 64⌉ word operations per
/// character, whatever the text and piece hold.
/// </summary>
internal sealed class WildcardPieceSearch
{
    private readonly int _length;
    private readonly int _words;
    private readonly ulong[] _anyCharacter;          // positions holding '?'
    private readonly ulong[][] _asciiMasks;          // positions matching each ASCII character (including '?')
    private readonly Dictionary<char, ulong[]> _otherMasks = [];

    public WildcardPieceSearch(string piece)
    {
        _length = piece.Length;
        _words = (piece.Length + 63) / 64;
        _anyCharacter = new ulong[_words];
        for (int i = 0; i < piece.Length; i++)
        {
            if (piece[i] == '?')
            {
                _anyCharacter[i / 64] |= 1UL << (i % 64);
            }
        }

        _asciiMasks = new ulong[128][];
        for (int c = 0; c < 128; c++)
        {
            _asciiMasks[c] = (ulong[])_anyCharacter.Clone();
        }

        for (int i = 0; i < piece.Length; i++)
        {
            char c = piece[i];
            if (c == '?')
            {
                continue;
            }

            if (c < 128)
            {
                _asciiMasks[c][i / 64] |= 1UL << (i % 64);
            }
            else
            {
                if (!_otherMasks.TryGetValue(c, out var mask))
                {
                    _otherMasks[c] = mask = (ulong[])_anyCharacter.Clone();
                }

                mask[i / 64] |= 1UL << (i % 64);
            }
        }
    }

    /// <summary>The index where the leftmost match starts, or -1.</summary>
    public int IndexIn(ReadOnlySpan<char> text)
    {
        if (text.Length < _length)
        {
            return -1;
        }

        Span<ulong> state = stackalloc ulong[_words];
        state.Clear();
        int lastWord = (_length - 1) / 64;
        ulong lastBit = 1UL << ((_length - 1) % 64);
        for (int t = 0; t < text.Length; t++)
        {
            char c = text[t];
            ulong[] mask = c < 128 ? _asciiMasks[c] : _otherMasks.TryGetValue(c, out var other) ? other : _anyCharacter;

            // state = ((state << 1) | 1) & mask, across words: bit i set when piece[0..i] matches text ending at t.
            ulong carry = 1;
            for (int w = 0; w < _words; w++)
            {
                ulong next = state[w] >> 63;
                state[w] = ((state[w] << 1) | carry) & mask[w];
                carry = next;
            }

            if ((state[lastWord] & lastBit) != 0)
            {
                return t - _length + 1;
            }
        }

        return -1;
    }
}
