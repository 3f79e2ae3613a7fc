using System.Numerics.Tensors;
using FastBertTokenizer;
using Microsoft.ML.OnnxRuntime;

namespace Aim.Intent.Onnx;

/// <summary>
/// A BERT-style sentence-embedding model on ONNX Runtime: the real WordPiece tokenizer of the model's vocabulary
/// (uncased, accents stripped, punctuation split: FastBertTokenizer), the transformer, then mean pooling over the tokens
/// and L2 normalization (the all-MiniLM-L6-v2 recipe). Thread-safe; one intra-op thread by default, so a call uses
/// one core of a small host.
/// </summary>
public sealed class SentenceEmbedder : IDisposable
{
    /// <summary>The most tokens read ([CLS] and [SEP] included): all-MiniLM-L6-v2 was trained on 256. Longer inputs are cut at the end.</summary>
    public const int MaxTokens = 256;

    private readonly BertTokenizer tokenizer = new();
    private readonly Lock tokenizerGate = new();
    private readonly InferenceSession session;
    private readonly string outputName;

    /// <summary>Loads the model.</summary>
    /// <param name="files">The model and vocabulary.</param>
    /// <param name="intraOpThreads">Threads one inference may use (1 to 64). Default 1.</param>
    /// <exception cref="IntentModelException">The vocabulary or the ONNX graph cannot be loaded, or the graph lacks the BERT inputs (<c>intent_model_invalid</c>).</exception>
    public SentenceEmbedder(EmbeddingModelFiles files, int intraOpThreads = 1)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfLessThan(intraOpThreads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(intraOpThreads, 64);
        Name = files.Name;
        try
        {
            using var vocabulary = new StreamReader(new MemoryStream(files.Vocabulary));
            tokenizer.LoadVocabulary(vocabulary, convertInputToLowercase: true);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or IOException)
        {
            throw new IntentModelException("intent_model_invalid", $"The vocabulary of {files.Name} cannot be loaded: {e.Message}", e);
        }

        using var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        try
        {
            session = new InferenceSession(files.Model, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new IntentModelException("intent_model_invalid", $"The ONNX graph of {files.Name} cannot be loaded: {e.Message}", e);
        }

        var inputs = session.InputMetadata;
        if (!inputs.ContainsKey("input_ids") || !inputs.ContainsKey("attention_mask") || session.OutputMetadata.Count == 0
            || session.OutputMetadata.First().Value.Dimensions is not [_, _, > 0 and var width])
        {
            session.Dispose();
            throw new IntentModelException("intent_model_invalid", $"{files.Name} is not a BERT encoder (input_ids, attention_mask -> [batch, tokens, width]).");
        }

        outputName = session.OutputMetadata.First().Key;
        Dimension = width;
        HasTokenTypes = inputs.ContainsKey("token_type_ids");
    }

    /// <summary>The model's name.</summary>
    public string Name { get; }

    /// <summary>The embedding width (384 for all-MiniLM-L6-v2).</summary>
    public int Dimension { get; }

    private bool HasTokenTypes { get; }

    /// <summary>The token ids of <paramref name="text"/>, [CLS] first and [SEP] last, at most <see cref="MaxTokens"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public long[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new long[MaxTokens];
        var mask = new long[MaxTokens];
        int count;
        lock (tokenizerGate)
        {
            count = tokenizer.Encode(text, ids, mask);
        }

        return ids[..count];
    }

    /// <summary>The unit-length sentence embedding of <paramref name="text"/>.</summary>
    /// <param name="text">Any text; an empty one still has [CLS] and [SEP].</param>
    /// <param name="cancellationToken">Stops a running inference (ONNX Runtime's terminate flag).</param>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="IntentModelException">The model failed (<c>intent_model_invalid</c>).</exception>
    public float[] Embed(string text, CancellationToken cancellationToken = default)
    {
        var ids = Tokenize(text);
        var length = ids.Length;
        var mask = new long[length];
        Array.Fill(mask, 1L);
        long[] shape = [1, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = HasTokenTypes ? OrtValue.CreateTensorValueFromMemory(new long[length], shape) : null;
        var names = HasTokenTypes ? new[] { "input_ids", "attention_mask", "token_type_ids" } : ["input_ids", "attention_mask"];
        var values = HasTokenTypes ? new[] { idsValue, maskValue, typesValue! } : [idsValue, maskValue];

        using var run = new RunOptions();
        using var stop = cancellationToken.Register(() => run.Terminate = true);
        cancellationToken.ThrowIfCancellationRequested();
        IDisposableReadOnlyCollection<OrtValue> outputs;
        try
        {
            outputs = session.Run(run, names, values, [outputName]);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw new IntentModelException("intent_model_invalid", $"{Name} failed: {e.Message}", e);
        }

        using (outputs)
        {
            // Mean pooling over the tokens (all attended: no padding is sent), then unit length.
            var hidden = outputs[0].GetTensorDataAsSpan<float>();
            var embedding = new float[Dimension];
            for (var t = 0; t < length; t++)
            {
                TensorPrimitives.Add(embedding, hidden.Slice(t * Dimension, Dimension), embedding);
            }

            TensorPrimitives.Multiply(embedding, 1f / length, embedding);
            var norm = TensorPrimitives.Norm(embedding);
            TensorPrimitives.Multiply(embedding, norm > 1e-12f ? 1f / norm : 0f, embedding);
            return embedding;
        }
    }

    /// <inheritdoc />
    public void Dispose() => session.Dispose();
}
