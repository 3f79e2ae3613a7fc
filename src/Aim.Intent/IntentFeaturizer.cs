namespace Aim.Intent;

/// <summary>
/// Turns text into hashed feature buckets, fastText style: word unigrams, word bigrams and character
/// n-grams of each word (padded with <c>&lt;</c> and <c>&gt;</c>). Span-based and allocation-free:
/// the caller supplies every buffer (see <see cref="IntentScratch"/>). Word unigrams and bigrams are
/// emitted <see cref="FeaturizerSettings.WordWeight"/> times each, so in the averaged hidden vector a
/// word counts that many times a character n-gram (a word has about three n-grams per char, which
/// otherwise drown the words that carry the meaning).
/// </summary>
/// <remarks>
/// Normalization is one char in, one char out (letters lower-cased invariantly, digits folded to
/// <c>0</c>, whitespace and controls to a space), so positions in the normalized text map straight
/// back to the input for evidence. Words are runs of letters and digits; every other visible char is a
/// one-char token of its own (so <c>| sh</c>, <c>; drop</c> and <c>../</c> become features) except
/// <c>_</c>, which only separates. Inputs longer than <see cref="MaxChars"/> are classified on their
/// head and tail, where payloads usually sit.
/// </remarks>
internal static class IntentFeaturizer
{
    /// <summary>The most chars looked at: the first <see cref="HeadChars"/> and the last <see cref="TailChars"/>.</summary>
    public const int MaxChars = HeadChars + 1 + TailChars;

    public const int HeadChars = 12288;

    public const int TailChars = 4095;

    /// <summary>Words longer than this become a shape feature; their n-grams come from this prefix only.</summary>
    public const int LongWordLength = 24;

    private const uint UnigramSeed = 0x9E3779B1u;
    private const uint BigramSeed = 0x85EBCA77u;
    private const uint NgramSeed = 0xC2B2AE3Du;

    /// <summary>The size of the normalized text for an input of <paramref name="textLength"/> chars.</summary>
    public static int NormalizedLength(int textLength) => Math.Min(textLength, MaxChars);

    /// <summary>An upper bound on the features of a normalized text of <paramref name="normalizedLength"/> chars.</summary>
    public static int MaxFeatures(int normalizedLength, in FeaturizerSettings settings)
        => (normalizedLength * ((2 * settings.WordWeight) + (3 * (settings.MaxN - settings.MinN + 1)))) + 8;

    /// <summary>Maps a position in the normalized text back to the input.</summary>
    public static int OriginalIndex(int normalizedIndex, int textLength)
        => textLength <= MaxChars || normalizedIndex < HeadChars
            ? normalizedIndex
            : textLength - TailChars + (normalizedIndex - HeadChars - 1);

    /// <summary>Extracts features.</summary>
    /// <param name="text">The input.</param>
    /// <param name="settings">The model's featurizer settings.</param>
    /// <param name="norm">At least <see cref="NormalizedLength"/> chars.</param>
    /// <param name="buckets">At least <see cref="MaxFeatures"/> entries: the bucket of each feature.</param>
    /// <param name="featureChunk">Same size as <paramref name="buckets"/>: the chunk (whitespace-separated run) each feature came from.</param>
    /// <param name="chunkStart">At least <see cref="NormalizedLength"/> + 1 entries: each chunk's start in the normalized text.</param>
    /// <param name="chunkLength">Same size as <paramref name="chunkStart"/>.</param>
    /// <param name="chunkCount">The number of chunks.</param>
    /// <returns>The number of features.</returns>
    public static int Extract(
        ReadOnlySpan<char> text,
        in FeaturizerSettings settings,
        Span<char> norm,
        Span<int> buckets,
        Span<int> featureChunk,
        Span<int> chunkStart,
        Span<int> chunkLength,
        out int chunkCount)
    {
        var length = Normalize(text, norm);
        var normalized = norm[..length];
        var mask = (1 << settings.BucketBits) - 1;
        var wordWeight = settings.WordWeight;
        var count = 0;
        chunkCount = 0;
        var previousHash = 0u;
        var hasPrevious = false;
        var chunkEnd = 0;
        var i = 0;
        while (i < length)
        {
            var c = normalized[i];
            if (c == ' ' || c == '_')
            {
                i++;
                continue;
            }

            // Chunks are whitespace-separated runs (an underscore only separates words inside a chunk).
            if (i >= chunkEnd)
            {
                var begin = i;
                while (begin > 0 && normalized[begin - 1] != ' ')
                {
                    begin--;
                }

                chunkEnd = i;
                while (chunkEnd < length && normalized[chunkEnd] != ' ')
                {
                    chunkEnd++;
                }

                chunkStart[chunkCount] = begin;
                chunkLength[chunkCount] = chunkEnd - begin;
                chunkCount++;
            }

            var chunk = chunkCount - 1;
            uint wordHash;
            if (char.IsLetterOrDigit(c))
            {
                var end = i + 1;
                while (end < length && char.IsLetterOrDigit(normalized[end]))
                {
                    end++;
                }

                var word = normalized[i..end];
                if (word.Length > LongWordLength)
                {
                    var original = OriginalSpan(text, i, word.Length);
                    wordHash = Hash(Shape(original), UnigramSeed);
                    word = word[..LongWordLength];
                }
                else
                {
                    wordHash = Hash(word, UnigramSeed);
                }

                count = Repeat(buckets, featureChunk, count, (int)(wordHash & (uint)mask), chunk, wordWeight);
                for (var n = settings.MinN; n <= settings.MaxN; n++)
                {
                    for (var start = -1; start <= word.Length + 1 - n; start++)
                    {
                        buckets[count] = (int)(HashPadded(word, start, n) & (uint)mask);
                        featureChunk[count++] = chunk;
                    }
                }

                i = end;
            }
            else
            {
                wordHash = Hash(normalized.Slice(i, 1), UnigramSeed);
                count = Repeat(buckets, featureChunk, count, (int)(wordHash & (uint)mask), chunk, wordWeight);
                i++;
            }

            if (hasPrevious)
            {
                count = Repeat(buckets, featureChunk, count, (int)(Mix(((previousHash * 31u) ^ wordHash) + BigramSeed) & (uint)mask), chunk, wordWeight);
            }

            previousHash = wordHash;
            hasPrevious = true;
        }

        return count;
    }

    private static int Repeat(Span<int> buckets, Span<int> featureChunk, int count, int bucket, int chunk, int times)
    {
        for (var k = 0; k < times; k++)
        {
            buckets[count] = bucket;
            featureChunk[count++] = chunk;
        }

        return count;
    }

    private static ReadOnlySpan<char> OriginalSpan(ReadOnlySpan<char> text, int normalizedStart, int length)
        => text.Slice(OriginalIndex(normalizedStart, text.Length), length);

    private static int Normalize(ReadOnlySpan<char> text, Span<char> norm)
    {
        if (text.Length <= MaxChars)
        {
            NormalizeInto(text, norm);
            return text.Length;
        }

        NormalizeInto(text[..HeadChars], norm);
        norm[HeadChars] = ' ';
        NormalizeInto(text[^TailChars..], norm[(HeadChars + 1)..]);
        return MaxChars;
    }

    private static void NormalizeInto(ReadOnlySpan<char> source, Span<char> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            destination[i] = c switch
            {
                _ when char.IsAsciiLetterLower(c) => c,
                _ when char.IsAsciiDigit(c) => '0',
                _ when char.IsAsciiLetterUpper(c) => (char)(c | 0x20),
                _ when char.IsWhiteSpace(c) || char.IsControl(c) => ' ',
                _ when char.IsLetter(c) => char.ToLowerInvariant(c),
                _ when char.IsDigit(c) => '0',
                _ => c,
            };
        }
    }

    // Long words are mostly encoded blobs, hashes or keys: what matters is their shape, not their value.
    private static string Shape(ReadOnlySpan<char> word)
    {
        bool upper = false, lower = false, digit = false, nonHex = false;
        foreach (var c in word)
        {
            upper |= char.IsAsciiLetterUpper(c);
            lower |= char.IsAsciiLetterLower(c);
            digit |= char.IsAsciiDigit(c);
            nonHex |= !char.IsAsciiHexDigit(c);
        }

        return !nonHex ? "\u00a7hex" : upper && lower && digit ? "\u00a7b64" : "\u00a7long";
    }

    private static uint Hash(ReadOnlySpan<char> chars, uint seed)
    {
        var h = 2166136261u ^ seed;
        foreach (var c in chars)
        {
            h = (h ^ c) * 16777619u;
        }

        return Mix(h);
    }

    private static uint HashPadded(ReadOnlySpan<char> word, int start, int n)
    {
        var h = 2166136261u ^ NgramSeed;
        for (var p = start; p < start + n; p++)
        {
            var c = p < 0 ? '<' : p >= word.Length ? '>' : word[p];
            h = (h ^ c) * 16777619u;
        }

        return Mix(h);
    }

    // murmur3 finalizer: spreads FNV's weak low bits over the bucket mask.
    private static uint Mix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h;
    }
}

/// <summary>How a model featurizes text; stored in the model file so training and inference agree.</summary>
/// <param name="BucketBits">log2 of the number of hashed buckets.</param>
/// <param name="MinN">The shortest character n-gram.</param>
/// <param name="MaxN">The longest character n-gram.</param>
/// <param name="WordWeight">How many times each word unigram and bigram is counted (1 in format version 1 and 2 files).</param>
/// <param name="EvidencePrior">Zero-vector pseudo-features added to the average's denominator (0 before format version 4):
/// the hidden vector is sum / (n + prior), so an input with few features stays near the bias (the class prior).</param>
internal readonly record struct FeaturizerSettings(int BucketBits, int MinN, int MaxN, int WordWeight = 1, int EvidencePrior = 0)
{
    /// <summary>The largest word weight a model may carry.</summary>
    public const int MaxWordWeight = 8;

    /// <summary>The largest evidence prior a model may carry.</summary>
    public const int MaxEvidencePrior = 4096;

    /// <summary>The factor that turns a sum of <paramref name="featureCount"/> feature rows into the hidden vector.</summary>
    public float HiddenScale(int featureCount) => featureCount + EvidencePrior == 0 ? 0f : 1f / (featureCount + EvidencePrior);

    public int BucketCount => 1 << BucketBits;
}
