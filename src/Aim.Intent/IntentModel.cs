using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Aim.Intent;

/// <summary>
/// The weights of the intent classifier: one embedding row per hashed feature bucket, averaged into a
/// hidden vector, then a linear layer and softmax over the <see cref="IntentLabels.Count"/> classes.
/// Immutable once loaded and safe to share between threads.
/// </summary>
/// <remarks>
/// File format (little-endian): magic <c>AIMINTNT</c>, version, bucket bits, dimension, class count,
/// min and max n-gram length, the number of non-zero rows, the softmax temperature (float, version 2;
/// version 1 files have none and use 1), the word weight (int, version 3; older files use 1, see
/// <c>FeaturizerSettings.WordWeight</c>), the evidence prior (int, version 4; older files use 0), the rows' ascending bucket indices, those rows, the output
/// matrix and bias, then the SHA-256 of everything before it. Rows no training example touched are
/// zero and not stored.
/// </remarks>
public sealed class IntentModel
{
    /// <summary>The smallest temperature a model may carry.</summary>
    public const float MinTemperature = 0.01f;

    /// <summary>The largest temperature a model may carry.</summary>
    public const float MaxTemperature = 100f;

    private const int FormatVersion = 4;
    private const int HeaderBytesV1 = 8 + (7 * 4);
    private const int HeaderBytesV2 = HeaderBytesV1 + 4;
    private const int HeaderBytesV3 = HeaderBytesV2 + 4;
    private const int HeaderBytes = HeaderBytesV3 + 4;
    private const int MaxFileBytes = 64 << 20;
    private static readonly byte[] Magic = "AIMINTNT"u8.ToArray();
    private static readonly Lazy<IntentModel> DefaultModel = new(LoadEmbedded, LazyThreadSafetyMode.ExecutionAndPublication);
    private string? version;

    internal IntentModel(FeaturizerSettings settings, int dimension, float[] embeddings, float[] output, float[] bias, float temperature = 1f)
    {
        Settings = settings;
        Dimension = dimension;
        Embeddings = embeddings;
        Output = output;
        Bias = bias;
        Temperature = temperature;
        InverseTemperature = 1f / temperature;
    }


    /// <summary>The model shipped inside this assembly (what <c>aim intent train</c> produced from <c>data/intent</c>); loaded once, on first use.</summary>
    /// <exception cref="IntentModelException">The embedded resource is missing or corrupted (<c>intent_model_invalid</c>).</exception>
    public static IntentModel Default => DefaultModel.Value;

    /// <summary>The number of hashed feature buckets (a power of two).</summary>
    public int BucketCount => Settings.BucketCount;

    /// <summary>The size of the hidden (embedding) vector.</summary>
    public int Dimension { get; }

    /// <summary>How many times a word unigram or bigram counts relative to one character n-gram (1 in format version 1 and 2 files).</summary>
    public int WordWeight => Settings.WordWeight;

    /// <summary>Zero pseudo-features in the average's denominator (0 in files before format version 4): see <c>IntentTrainingOptions.EvidencePrior</c>.</summary>
    public int EvidencePrior => Settings.EvidencePrior;

    /// <summary>
    /// A stable name of these exact weights for audit records: <c>ngram-</c> and the first 12 hex digits of the SHA-256 that
    /// ends the model file (<see cref="ToBytes"/>), for example <c>ngram-3f09a1c2b4d5</c>.
    /// </summary>
    public string Version => version ??= "ngram-" + Convert.ToHexStringLower(ToBytes().AsSpan(^32..^26));

    /// <summary>The number of parameters, zero rows included.</summary>
    public long ParameterCount => (long)Embeddings.Length + Output.Length + Bias.Length;

    /// <summary>
    /// The softmax temperature: logits are divided by it before softmax (below 1 sharpens, above 1 softens).
    /// Fitted by the trainer on a validation split of the training data (see <c>IntentTrainer</c>); 1 means uncalibrated.
    /// </summary>
    public float Temperature { get; }

    internal float InverseTemperature { get; }

    internal FeaturizerSettings Settings { get; }

    internal float[] Embeddings { get; }

    internal float[] Output { get; }

    internal float[] Bias { get; }

    /// <summary>Reads a model from bytes (the format written by <see cref="ToBytes"/>).</summary>
    /// <exception cref="IntentModelException">The bytes are not a valid, intact model (<c>intent_model_invalid</c>).</exception>
    public static IntentModel Load(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderBytesV1 + 32 || bytes.Length > MaxFileBytes)
        {
            throw IntentModelException.Model($"An intent model is between {HeaderBytesV1 + 32} and {MaxFileBytes} bytes; this is {bytes.Length}.");
        }

        var body = bytes[..^32];
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(body, digest);
        if (!CryptographicOperations.FixedTimeEquals(digest, bytes[^32..]))
        {
            throw IntentModelException.Model("The intent model's checksum does not match: the file is corrupted or was edited.");
        }

        if (!body[..8].SequenceEqual(Magic))
        {
            throw IntentModelException.Model("Not an intent model (bad magic).");
        }

        var version = ReadInt(body, 8);
        var bucketBits = ReadInt(body, 12);
        var dimension = ReadInt(body, 16);
        var classes = ReadInt(body, 20);
        var minN = ReadInt(body, 24);
        var maxN = ReadInt(body, 28);
        var rows = ReadInt(body, 32);
        if (version is < 1 or > FormatVersion)
        {
            throw IntentModelException.Model($"Intent model format version {version} is not supported (expected 1 to {FormatVersion}).");
        }

        var headerBytes = version switch { 1 => HeaderBytesV1, 2 => HeaderBytesV2, 3 => HeaderBytesV3, _ => HeaderBytes };
        if (body.Length < headerBytes)
        {
            throw IntentModelException.Model("The intent model's header is truncated.");
        }

        var temperature = version == 1 ? 1f : BinaryPrimitives.ReadSingleLittleEndian(body[HeaderBytesV1..]);
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature))
        {
            throw IntentModelException.Model("The intent model's temperature is out of range.");
        }

        var wordWeight = version < 3 ? 1 : ReadInt(body, HeaderBytesV2);
        var evidencePrior = version < 4 ? 0 : ReadInt(body, HeaderBytesV3);
        if (bucketBits is < 8 or > 24 || dimension is < 1 or > 512 || classes != IntentLabels.Count
            || wordWeight is < 1 or > FeaturizerSettings.MaxWordWeight
            || evidencePrior is < 0 or > FeaturizerSettings.MaxEvidencePrior
            || minN is < 1 or > 8 || maxN < minN || maxN > 8 || rows < 0 || rows > (1 << bucketBits))
        {
            throw IntentModelException.Model("The intent model's header is out of range.");
        }

        var settings = new FeaturizerSettings(bucketBits, minN, maxN, wordWeight, evidencePrior);
        long expected = headerBytes + (rows * 4L) + (((long)rows * dimension) + (classes * dimension) + classes) * 4L;
        if (body.Length != expected)
        {
            throw IntentModelException.Model($"The intent model has {body.Length} bytes of content; its header says {expected}.");
        }

        var embeddings = new float[(long)settings.BucketCount * dimension];
        var offset = headerBytes;
        var rowOffset = headerBytes + (rows * 4);
        var previous = -1;
        for (var r = 0; r < rows; r++, offset += 4)
        {
            var index = ReadInt(body, offset);
            if (index <= previous || index >= settings.BucketCount)
            {
                throw IntentModelException.Model("The intent model's row indices are not ascending bucket numbers.");
            }

            previous = index;
            ReadFloats(body.Slice(rowOffset + (r * dimension * 4), dimension * 4), embeddings.AsSpan(index * dimension, dimension));
        }

        offset = rowOffset + (rows * dimension * 4);
        var output = new float[classes * dimension];
        ReadFloats(body.Slice(offset, output.Length * 4), output);
        offset += output.Length * 4;
        var bias = new float[classes];
        ReadFloats(body.Slice(offset, classes * 4), bias);
        return new IntentModel(settings, dimension, embeddings, output, bias, temperature) { version = "ngram-" + Convert.ToHexStringLower(digest[..6]) };
    }

    /// <summary>Reads a model from a stream (read to its end).</summary>
    /// <exception cref="IntentModelException">The content is not a valid, intact model.</exception>
    public static IntentModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Reads a model file.</summary>
    /// <exception cref="IntentModelException">The file is not a valid, intact model.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IntentModel LoadFile(string path) => Load(File.ReadAllBytes(path));

    /// <summary>The model's bytes. Deterministic: the same weights always give the same bytes.</summary>
    public byte[] ToBytes()
    {
        var dimension = Dimension;
        var rows = new List<int>();
        for (var b = 0; b < BucketCount; b++)
        {
            if (Embeddings.AsSpan(b * dimension, dimension).ContainsAnyExcept(0f))
            {
                rows.Add(b);
            }
        }

        var length = HeaderBytes + (rows.Count * 4) + ((rows.Count * dimension) + Output.Length + Bias.Length) * 4;
        var bytes = new byte[length + 32];
        Magic.CopyTo(bytes, 0);
        var span = bytes.AsSpan();
        WriteInt(span, 8, FormatVersion);
        WriteInt(span, 12, Settings.BucketBits);
        WriteInt(span, 16, dimension);
        WriteInt(span, 20, IntentLabels.Count);
        WriteInt(span, 24, Settings.MinN);
        WriteInt(span, 28, Settings.MaxN);
        WriteInt(span, 32, rows.Count);
        BinaryPrimitives.WriteSingleLittleEndian(span[HeaderBytesV1..], Temperature);
        WriteInt(span, HeaderBytesV2, Settings.WordWeight);
        WriteInt(span, HeaderBytesV3, Settings.EvidencePrior);
        var offset = HeaderBytes;
        foreach (var row in rows)
        {
            WriteInt(span, offset, row);
            offset += 4;
        }

        foreach (var row in rows)
        {
            offset = WriteFloats(span, offset, Embeddings.AsSpan(row * dimension, dimension));
        }

        offset = WriteFloats(span, offset, Output);
        offset = WriteFloats(span, offset, Bias);
        SHA256.HashData(span[..offset], span[offset..]);
        return bytes;
    }

    /// <summary>Writes <see cref="ToBytes"/> to a file, replacing it.</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path) => File.WriteAllBytes(path, ToBytes());

    /// <summary>The same weights with another softmax temperature.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is outside <see cref="MinTemperature"/>..<see cref="MaxTemperature"/>.</exception>
    public IntentModel WithTemperature(float temperature)
    {
        if (!(temperature >= MinTemperature && temperature <= MaxTemperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, $"A temperature is between {MinTemperature} and {MaxTemperature}.");
        }

        return new IntentModel(Settings, Dimension, Embeddings, Output, Bias, temperature);
    }

    private static IntentModel LoadEmbedded()
    {
        using var stream = typeof(IntentModel).Assembly.GetManifestResourceStream("Aim.Intent.intent-model.bin")
            ?? throw IntentModelException.Model("The embedded intent model is missing from Aim.Intent.dll; rebuild after `aim intent train`.");
        return Load(stream);
    }

    private static int ReadInt(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadInt32LittleEndian(bytes[offset..]);

    private static void WriteInt(Span<byte> bytes, int offset, int value) => BinaryPrimitives.WriteInt32LittleEndian(bytes[offset..], value);

    private static void ReadFloats(ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            var value = BinaryPrimitives.ReadSingleLittleEndian(source[(i * 4)..]);
            if (!float.IsFinite(value))
            {
                throw IntentModelException.Model("The intent model holds a non-finite weight.");
            }

            destination[i] = value;
        }
    }

    private static int WriteFloats(Span<byte> bytes, int offset, ReadOnlySpan<float> values)
    {
        foreach (var value in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes[offset..], value);
            offset += 4;
        }

        return offset;
    }
}
