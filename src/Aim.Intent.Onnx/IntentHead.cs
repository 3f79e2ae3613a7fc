using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Security.Cryptography;

namespace Aim.Intent.Onnx;

/// <summary>
/// The trained part of the second stage: a logistic head on the sentence embedding (malicious vs benign) and a stacker
/// that combines the head's log-odds with the first stage's (n-gram) log-odds into one malicious probability:
/// <c>p = sigmoid(HeadWeight * (w . e + b) + FirstStageWeight * logit(p1) + Bias)</c>. It also carries the first-stage
/// band in which the stage is consulted and the SHA-256 of the embedding model it was trained on (a head never runs on
/// another model's embeddings). Immutable and thread-safe.
/// </summary>
/// <remarks>
/// File format (little-endian): magic <c>AIMHEAD1</c>, format version (int), embedding width (int), the embedding model's
/// SHA-256 (32 bytes), band from and to (floats), the head's weights and bias (floats), the stacker's head weight,
/// first-stage weight and bias (floats), then the SHA-256 of everything before it.
/// </remarks>
public sealed class IntentHead
{
    private const int FormatVersion = 1;
    private const int HeaderBytes = 8 + 4 + 4 + 32 + 8;
    private static readonly byte[] Magic = "AIMHEAD1"u8.ToArray();

    /// <summary>Creates a head.</summary>
    /// <exception cref="ArgumentException">A weight is not finite, the band is not within 0..1, or the model digest is not 32 bytes.</exception>
    public IntentHead(byte[] embeddingModelSha256, float[] weights, float bias, float headWeight, float firstStageWeight, float stackBias, float uncertainFrom, float uncertainTo)
    {
        ArgumentNullException.ThrowIfNull(embeddingModelSha256);
        ArgumentNullException.ThrowIfNull(weights);
        if (embeddingModelSha256.Length != 32 || weights.Length is < 1 or > 4096
            || !weights.All(float.IsFinite) || !float.IsFinite(bias) || !float.IsFinite(headWeight) || !float.IsFinite(firstStageWeight) || !float.IsFinite(stackBias)
            || !(uncertainFrom is >= 0f and <= 1f) || !(uncertainTo is >= 0f and <= 1f) || uncertainFrom > uncertainTo)
        {
            throw new ArgumentException("The head's weights must be finite, its band within 0..1 and its model digest 32 bytes.");
        }

        EmbeddingModelSha256 = embeddingModelSha256;
        Weights = weights;
        Bias = bias;
        HeadWeight = headWeight;
        FirstStageWeight = firstStageWeight;
        StackBias = stackBias;
        UncertainFrom = uncertainFrom;
        UncertainTo = uncertainTo;
        Version = "head-" + Convert.ToHexStringLower(SHA256.HashData(ToBytesWithoutDigest()).AsSpan(0, 6));
    }

    /// <summary>The head shipped inside this assembly (trained by <c>aim intent train --second-stage-out</c>); loaded once.</summary>
    /// <exception cref="IntentModelException">The embedded resource is missing or corrupted (<c>intent_model_invalid</c>).</exception>
    public static IntentHead Default => DefaultHead.Value;

    private static readonly Lazy<IntentHead> DefaultHead = new(LoadEmbedded, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The SHA-256 of the ONNX model whose embeddings this head reads.</summary>
    public byte[] EmbeddingModelSha256 { get; }

    /// <summary>The head's weights, one per embedding dimension.</summary>
    public float[] Weights { get; }

    /// <summary>The head's bias.</summary>
    public float Bias { get; }

    /// <summary>The stacker's weight on the head's log-odds.</summary>
    public float HeadWeight { get; }

    /// <summary>The stacker's weight on the first stage's log-odds.</summary>
    public float FirstStageWeight { get; }

    /// <summary>The stacker's bias.</summary>
    public float StackBias { get; }

    /// <summary>The lowest first-stage malicious probability sent to the second stage.</summary>
    public float UncertainFrom { get; }

    /// <summary>The highest first-stage malicious probability sent to the second stage.</summary>
    public float UncertainTo { get; }

    /// <summary><c>head-</c> and the first 12 hex digits of the SHA-256 of the head's content.</summary>
    public string Version { get; }

    /// <summary>The head's log-odds of an embedding.</summary>
    /// <exception cref="ArgumentException">The embedding's width differs from the head's.</exception>
    public float HeadLogit(ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != Weights.Length)
        {
            throw new ArgumentException($"The head reads {Weights.Length}-wide embeddings, not {embedding.Length}.", nameof(embedding));
        }

        return TensorPrimitives.Dot(embedding, Weights) + Bias;
    }

    /// <summary>The stacked malicious probability from the head's log-odds and the first stage's probability.</summary>
    public float Stack(float headLogit, float firstStage) =>
        Sigmoid((HeadWeight * headLogit) + (FirstStageWeight * Logit(firstStage)) + StackBias);

    /// <summary>The first stage's probability as log-odds, clamped to +-16 (a probability of exactly 0 or 1 carries no more than that).</summary>
    public static float Logit(float p)
    {
        var clamped = Math.Clamp(p, 1e-7f, 1f - 1e-7f);
        return Math.Clamp(MathF.Log(clamped / (1f - clamped)), -16f, 16f);
    }

    /// <summary>The logistic function.</summary>
    public static float Sigmoid(float z) => 1f / (1f + MathF.Exp(-z));

    /// <summary>Reads a head (the format written by <see cref="ToBytes"/>).</summary>
    /// <exception cref="IntentModelException">The bytes are not a valid, intact head (<c>intent_model_invalid</c>).</exception>
    public static IntentHead Load(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderBytes + 4 + 16 + 32 || bytes.Length > 1 << 20)
        {
            throw Invalid($"An intent head is between {HeaderBytes + 52} bytes and 1 MiB; this is {bytes.Length}.");
        }

        var body = bytes[..^32];
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(body, digest);
        if (!CryptographicOperations.FixedTimeEquals(digest, bytes[^32..]))
        {
            throw Invalid("The intent head's checksum does not match: the file is corrupted or was edited.");
        }

        if (!body[..8].SequenceEqual(Magic))
        {
            throw Invalid("Not an intent head (bad magic).");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
        var width = BinaryPrimitives.ReadInt32LittleEndian(body[12..]);
        if (version != FormatVersion)
        {
            throw Invalid($"Intent head format version {version} is not supported (expected {FormatVersion}).");
        }

        if (width is < 1 or > 4096 || body.Length != HeaderBytes + ((width + 4) * 4))
        {
            throw Invalid("The intent head's size does not match its header.");
        }

        var sha = body.Slice(16, 32).ToArray();
        var floats = new float[width + 6];
        for (var i = 0; i < floats.Length; i++)
        {
            floats[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(48 + (i * 4))..]);
        }

        try
        {
            return new IntentHead(sha, floats[2..(2 + width)], floats[2 + width], floats[3 + width], floats[4 + width], floats[5 + width], floats[0], floats[1]);
        }
        catch (ArgumentException e)
        {
            throw Invalid(e.Message, e);
        }
    }

    /// <summary>The head's bytes. Deterministic.</summary>
    public byte[] ToBytes()
    {
        var body = ToBytesWithoutDigest();
        var bytes = new byte[body.Length + 32];
        body.CopyTo(bytes, 0);
        SHA256.HashData(body, bytes.AsSpan(body.Length));
        return bytes;
    }

    /// <summary>Writes <see cref="ToBytes"/> to a file, replacing it.</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path) => File.WriteAllBytes(path, ToBytes());

    private byte[] ToBytesWithoutDigest()
    {
        var bytes = new byte[HeaderBytes + ((Weights.Length + 4) * 4)];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], Weights.Length);
        EmbeddingModelSha256.CopyTo(span[16..]);
        float[] tail = [UncertainFrom, UncertainTo, .. Weights, Bias, HeadWeight, FirstStageWeight, StackBias];
        for (var i = 0; i < tail.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(span[(48 + (i * 4))..], tail[i]);
        }

        return bytes;
    }

    private static IntentHead LoadEmbedded()
    {
        using var stream = typeof(IntentHead).Assembly.GetManifestResourceStream("Aim.Intent.Onnx.intent-head.bin")
            ?? throw Invalid("The embedded intent head is missing from Aim.Intent.Onnx.dll; rebuild after `aim intent train --second-stage-out`.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Load(buffer.ToArray());
    }

    private static IntentModelException Invalid(string message, Exception? inner = null) => new("intent_model_invalid", message, inner);
}
