namespace Aim.Intent.Onnx;

/// <summary>Settings of <see cref="OnnxIntentStage"/>.</summary>
public sealed class OnnxIntentStageOptions
{
    /// <summary>The embedding model; <see langword="null"/> reads all-MiniLM-L6-v2 from <see cref="EmbeddingModelFiles.DefaultPackageAssemblyPath"/>.</summary>
    public EmbeddingModelFiles? Model { get; set; }

    /// <summary>The head; <see langword="null"/> for <see cref="IntentHead.Default"/> (trained on the corpus for all-MiniLM-L6-v2).</summary>
    public IntentHead? Head { get; set; }

    /// <summary>Threads one inference may use. Default 1 (a small host has few cores and the first stage already answers most calls).</summary>
    public int IntraOpThreads { get; set; } = 1;
}

/// <summary>
/// The second stage of the intent step on ONNX Runtime: embeds the action text with a sentence-embedding model, scores it
/// with the trained <see cref="IntentHead"/> and stacks that with the first stage's score. Set it as
/// <c>IntentCheckOptions.SecondStage</c>; the step consults it only for high and critical actions whose first-stage score
/// lies in the head's band, off the calling thread and within <c>IntentCheckOptions.SecondStageBudget</c>. Thread-safe;
/// dispose it when the application stops (it holds the native session).
/// </summary>
public sealed class OnnxIntentStage : IIntentSecondStage, IDisposable
{
    private readonly SentenceEmbedder embedder;
    private readonly IntentHead head;

    /// <summary>Loads the model (about 0.3 s and 230 MB of memory for all-MiniLM-L6-v2) and the head.</summary>
    /// <exception cref="IntentModelException">The model, its vocabulary or the head cannot be loaded, or the head was trained on another model (<c>intent_model_invalid</c>).</exception>
    public OnnxIntentStage(OnnxIntentStageOptions? options = null)
    {
        options ??= new OnnxIntentStageOptions();
        var files = options.Model ?? EmbeddingModelFiles.FromPackageAssembly();
        head = options.Head ?? IntentHead.Default;
        if (!Convert.FromHexString(files.Sha256).AsSpan().SequenceEqual(head.EmbeddingModelSha256))
        {
            throw new IntentModelException("intent_model_invalid", $"The intent head {head.Version} was trained on another embedding model than {files.Name} ({files.Sha256[..12]}).");
        }

        embedder = new SentenceEmbedder(files, options.IntraOpThreads);
        if (embedder.Dimension != head.Weights.Length)
        {
            embedder.Dispose();
            throw new IntentModelException("intent_model_invalid", $"The intent head reads {head.Weights.Length}-wide embeddings; {files.Name} gives {embedder.Dimension}.");
        }

        Version = files.Name + "+" + head.Version;
    }

    /// <inheritdoc />
    public string Version { get; }

    /// <inheritdoc />
    public float UncertainFrom => head.UncertainFrom;

    /// <inheritdoc />
    public float UncertainTo => head.UncertainTo;

    /// <summary>The embedding model.</summary>
    public SentenceEmbedder Embedder => embedder;

    /// <summary>The head.</summary>
    public IntentHead Head => head;

    /// <inheritdoc />
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="IntentModelException">The model failed.</exception>
    public float Score(string text, float firstStage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        var embedding = embedder.Embed(text, cancellationToken);
        return head.Stack(head.HeadLogit(embedding), firstStage);
    }

    /// <inheritdoc />
    public void Dispose() => embedder.Dispose();
}
