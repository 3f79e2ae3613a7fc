namespace Aim.Capabilities;

/// <summary>
/// A glob over resource names: <c>*</c> matches any run of characters (including none), <c>?</c> exactly
/// one; everything else matches itself (ordinal, case-sensitive). Examples: <c>users_*</c>,
/// <c>s3://bucket/*</c>, <c>report-????.pdf</c>.
/// </summary>
/// <remarks>
/// Matching never backtracks over a star: the pattern is split at its stars, the first and last
/// pieces are anchored at the ends and every middle piece is taken at its leftmost position, which is
/// correct for globs. Middle pieces are found with a bit-parallel Shift-And scan (one pass over the
/// text, ⌈piece/64⌉ word operations per character, whatever the input), so no input is quadratic.
/// With the pattern capped at <see cref="MaxPatternLength"/> characters the work is linear in the
/// resource length; a resource longer than <see cref="MaxResourceLength"/> never matches (fail closed).
/// </remarks>
public sealed class ResourcePattern : IEquatable<ResourcePattern>
{
    /// <summary>The longest accepted pattern.</summary>
    public const int MaxPatternLength = 256;

    /// <summary>The longest resource name that can match.</summary>
    public const int MaxResourceLength = 4096;

    private readonly string[] _pieces;
    private readonly bool[] _piecesHaveQuestionMark;
    private readonly WildcardPieceSearch?[] _searches;
    private readonly bool _hasStar;

    private ResourcePattern(string pattern)
    {
        Pattern = pattern;
        _hasStar = pattern.Contains('*');
        _pieces = pattern.Split('*');
        _piecesHaveQuestionMark = Array.ConvertAll(_pieces, static p => p.Contains('?'));

        // Middle pieces are searched for; the anchored first and last ones are only compared.
        _searches = new WildcardPieceSearch?[_pieces.Length];
        for (int i = 1; i < _pieces.Length - 1; i++)
        {
            _searches[i] = _pieces[i].Length == 0 ? null : new WildcardPieceSearch(_pieces[i]);
        }
    }

    /// <summary>The pattern text.</summary>
    public string Pattern { get; }

    /// <summary>True for <c>*</c> alone (or only stars): any resource.</summary>
    public bool MatchesEverything => _hasStar && Array.TrueForAll(_pieces, static p => p.Length == 0);

    /// <summary>True when the pattern has no wildcard: it names exactly one resource.</summary>
    public bool IsExact => !_hasStar && !_piecesHaveQuestionMark[0];

    /// <summary>Parses a pattern.</summary>
    /// <exception cref="CapabilityFormatException">Empty, longer than <see cref="MaxPatternLength"/>, or containing control characters.</exception>
    public static ResourcePattern Parse(string pattern)
    {
        var error = Validate(pattern);
        return error is null ? new ResourcePattern(pattern) : throw new CapabilityFormatException(error);
    }

    /// <summary>Parses a pattern; false when it is invalid.</summary>
    public static bool TryParse(string? pattern, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourcePattern? result)
    {
        result = Validate(pattern) is null ? new ResourcePattern(pattern!) : null;
        return result is not null;
    }

    /// <summary>True when <paramref name="resource"/> matches the pattern.</summary>
    public bool Matches(ReadOnlySpan<char> resource)
    {
        if (resource.Length > MaxResourceLength)
        {
            return false;
        }

        if (!_hasStar)
        {
            return resource.Length == _pieces[0].Length && PieceMatchesAt(resource, 0, 0);
        }

        var first = _pieces[0];
        var last = _pieces[^1];
        if (resource.Length < first.Length + last.Length
            || !PieceMatchesAt(resource, 0, 0)
            || !PieceMatchesAt(resource, resource.Length - last.Length, _pieces.Length - 1))
        {
            return false;
        }

        // Middle pieces, leftmost first, inside the window the anchored ends leave free.
        int position = first.Length;
        int end = resource.Length - last.Length;
        for (int i = 1; i < _pieces.Length - 1; i++)
        {
            var piece = _pieces[i];
            if (piece.Length == 0)
            {
                continue;
            }

            int found = _searches[i]!.IndexIn(resource[position..end]);
            if (found < 0)
            {
                return false;
            }

            position += found + piece.Length;
        }

        return true;
    }

    /// <summary>True when <paramref name="resource"/> matches the pattern.</summary>
    public bool Matches(string? resource) => resource is not null && Matches(resource.AsSpan());

    /// <inheritdoc/>
    public bool Equals(ResourcePattern? other) => other is not null && string.Equals(Pattern, other.Pattern, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ResourcePattern);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Pattern);

    /// <summary>The pattern text.</summary>
    public override string ToString() => Pattern;

    private bool PieceMatchesAt(ReadOnlySpan<char> text, int start, int pieceIndex)
    {
        var piece = _pieces[pieceIndex].AsSpan();
        var slice = text.Slice(start, piece.Length);
        if (!_piecesHaveQuestionMark[pieceIndex])
        {
            return slice.SequenceEqual(piece);
        }

        for (int i = 0; i < piece.Length; i++)
        {
            if (piece[i] != '?' && piece[i] != slice[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string? Validate(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "A resource pattern must not be empty (use * for any resource).";
        }

        if (pattern.Length > MaxPatternLength)
        {
            return $"A resource pattern is at most {MaxPatternLength} characters, got {pattern.Length}.";
        }

        foreach (char c in pattern)
        {
            if (char.IsControl(c))
            {
                return $"Resource pattern '{Capability.Quote(pattern)}' contains the control character U+{(int)c:X4}.";
            }
        }

        return null;
    }
}
