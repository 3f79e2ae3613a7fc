using System.Numerics.Tensors;

namespace Aim.Intent;

/// <summary>Classifies the text of an action. Implementations must be thread-safe.</summary>
public interface IIntentClassifier
{
    /// <summary>Classifies <paramref name="text"/> and explains the verdict.</summary>
    /// <param name="text">The action text (see <see cref="IntentText"/>).</param>
    /// <param name="maxEvidence">How many evidence items to return at most.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    IntentVerdict Classify(string text, int maxEvidence = IntentVerdict.DefaultEvidenceCount);
}

/// <summary>
/// The in-process intent classifier: featurizes text into hashed n-grams and runs the
/// <see cref="IntentModel"/> with vectorized <see cref="TensorPrimitives"/>. Thread-safe; the
/// <c>Predict</c> overloads allocate nothing once a thread has seen an input of the same size.
/// </summary>
public sealed class IntentClassifier : IIntentClassifier
{
    private static readonly Lazy<IntentClassifier> DefaultClassifier = new(() => new IntentClassifier(IntentModel.Default));

    [ThreadStatic]
    private static IntentScratch? scratch;

    private readonly IntentModel model;

    /// <summary>Creates a classifier over a model.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    public IntentClassifier(IntentModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
    }

    /// <summary>The classifier over <see cref="IntentModel.Default"/>.</summary>
    /// <exception cref="IntentModelException">The embedded model is missing or corrupted.</exception>
    public static IntentClassifier Default => DefaultClassifier.Value;

    /// <summary>The model this classifier runs.</summary>
    public IntentModel Model => model;

    /// <summary>Classifies text without allocating.</summary>
    public IntentPrediction Predict(ReadOnlySpan<char> text) => Predict(text, [], out _);

    /// <summary>Classifies text and fills <paramref name="evidence"/> with the input spans that weighed most for the verdict, heaviest first, without allocating.</summary>
    /// <param name="text">The action text.</param>
    /// <param name="evidence">Where to write evidence; its length is the most returned.</param>
    /// <param name="evidenceCount">How many entries of <paramref name="evidence"/> were written.</param>
    public IntentPrediction Predict(ReadOnlySpan<char> text, Span<IntentEvidenceSpan> evidence, out int evidenceCount)
    {
        var settings = model.Settings;
        var dimension = model.Dimension;
        var s = scratch ??= new IntentScratch();
        s.Ensure(text.Length, settings, dimension);
        var featureCount = IntentFeaturizer.Extract(text, settings, s.Norm, s.Buckets, s.FeatureChunk, s.ChunkStart, s.ChunkLength, out var chunkCount);

        var hidden = s.Hidden.AsSpan(0, dimension);
        hidden.Clear();
        var embeddings = model.Embeddings.AsSpan();
        var buckets = s.Buckets.AsSpan(0, featureCount);
        foreach (var bucket in buckets)
        {
            TensorPrimitives.Add(hidden, embeddings.Slice(bucket * dimension, dimension), hidden);
        }

        if (featureCount > 0)
        {
            TensorPrimitives.Multiply(hidden, settings.HiddenScale(featureCount), hidden);
        }

        var logits = s.Logits.AsSpan(0, IntentLabels.Count);
        var output = model.Output.AsSpan();
        for (var c = 0; c < logits.Length; c++)
        {
            logits[c] = TensorPrimitives.Dot(hidden, output.Slice(c * dimension, dimension)) + model.Bias[c];
        }

        // Calibration: logits / T (T fitted on a validation split of the training data).
        TensorPrimitives.Multiply(logits, model.InverseTemperature, logits);

        var probabilities = s.Probabilities.AsSpan(0, IntentLabels.Count);
        TensorPrimitives.SoftMax(logits, probabilities);
        var best = TensorPrimitives.IndexOfMax(probabilities);
        var attack = 1 + TensorPrimitives.IndexOfMax(probabilities[1..]);
        var prediction = new IntentPrediction((IntentClass)best, probabilities[best], 1f - probabilities[(int)IntentClass.Benign], (IntentClass)attack);

        evidenceCount = 0;
        if (evidence.Length > 0 && featureCount > 0)
        {
            evidenceCount = Explain(text, s, featureCount, chunkCount, best, evidence);
        }

        return prediction;
    }

    /// <inheritdoc />
    public IntentVerdict Classify(string text, int maxEvidence = IntentVerdict.DefaultEvidenceCount)
    {
        ArgumentNullException.ThrowIfNull(text);
        Span<IntentEvidenceSpan> spans = stackalloc IntentEvidenceSpan[Math.Clamp(maxEvidence, 0, 32)];
        var prediction = Predict(text, spans, out var count);
        var evidence = new List<IntentEvidence>(count);
        for (var i = 0; i < count; i++)
        {
            var span = spans[i];
            var piece = text.Substring(span.Start, Math.Min(span.Length, IntentEvidence.MaxTextLength));
            // The same word repeated says nothing new; keep its heaviest occurrence.
            if (!evidence.Exists(e => e.Text == piece))
            {
                evidence.Add(new IntentEvidence(piece, span.Weight, span.Start));
            }
        }

        return new IntentVerdict(prediction.Label, prediction.Confidence, prediction.MaliciousProbability, evidence) { AttackClass = prediction.AttackClass };
    }

    // Weighs each chunk by how much its features pushed the verdict over the runner-up class:
    // embedding(feature) . (w[best] - w[second]) / n, summed per whitespace-separated chunk.
    private int Explain(ReadOnlySpan<char> text, IntentScratch s, int featureCount, int chunkCount, int best, Span<IntentEvidenceSpan> evidence)
    {
        var dimension = model.Dimension;
        var probabilities = s.Probabilities.AsSpan(0, IntentLabels.Count);
        var second = -1;
        for (var c = 0; c < probabilities.Length; c++)
        {
            if (c != best && (second < 0 || probabilities[c] > probabilities[second]))
            {
                second = c;
            }
        }

        var direction = s.Direction.AsSpan(0, dimension);
        var output = model.Output.AsSpan();
        TensorPrimitives.Subtract(output.Slice(best * dimension, dimension), output.Slice(second * dimension, dimension), direction);

        var weights = s.ChunkWeight.AsSpan(0, chunkCount);
        weights.Clear();
        var embeddings = model.Embeddings.AsSpan();
        var scale = model.Settings.HiddenScale(featureCount);
        for (var f = 0; f < featureCount; f++)
        {
            weights[s.FeatureChunk[f]] += TensorPrimitives.Dot(embeddings.Slice(s.Buckets[f] * dimension, dimension), direction) * scale;
        }

        // Partial selection sort: evidence is short and chunks are few.
        var count = 0;
        while (count < evidence.Length)
        {
            var top = TensorPrimitives.IndexOfMax(weights);
            if (top < 0 || !(weights[top] > 0f))
            {
                break;
            }

            var start = IntentFeaturizer.OriginalIndex(s.ChunkStart[top], text.Length);
            evidence[count++] = new IntentEvidenceSpan(start, s.ChunkLength[top], weights[top]);
            weights[top] = float.NegativeInfinity;
        }

        return count;
    }
}

/// <summary>Per-thread buffers of <see cref="IntentClassifier"/>; grown when a bigger input arrives, never shrunk.</summary>
internal sealed class IntentScratch
{
    public char[] Norm = [];
    public int[] Buckets = [];
    public int[] FeatureChunk = [];
    public int[] ChunkStart = [];
    public int[] ChunkLength = [];
    public float[] ChunkWeight = [];
    public float[] Hidden = [];
    public float[] Direction = [];
    public float[] Logits = new float[IntentLabels.Count];
    public float[] Probabilities = new float[IntentLabels.Count];

    public void Ensure(int textLength, in FeaturizerSettings settings, int dimension)
    {
        var normalized = IntentFeaturizer.NormalizedLength(textLength);
        if (Norm.Length < normalized)
        {
            var size = Math.Min(Math.Max(normalized, 256) * 2, IntentFeaturizer.MaxChars);
            size = Math.Max(size, normalized);
            Norm = new char[size];
            ChunkStart = new int[size + 1];
            ChunkLength = new int[size + 1];
            ChunkWeight = new float[size + 1];
        }

        var features = IntentFeaturizer.MaxFeatures(Norm.Length, settings);
        if (Buckets.Length < features)
        {
            Buckets = new int[features];
            FeatureChunk = new int[features];
        }

        if (Hidden.Length < dimension)
        {
            Hidden = new float[dimension];
            Direction = new float[dimension];
        }
    }
}

