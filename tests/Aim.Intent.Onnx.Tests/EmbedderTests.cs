using System.Numerics.Tensors;

namespace Aim.Intent.Onnx.Tests;

public sealed class EmbedderTests(ModelFixture model) : IClassFixture<ModelFixture>
{
    [Fact]
    public void Package_assembly_carries_minilm_and_its_vocabulary()
    {
        Assert.Equal("all-MiniLM-L6-v2", model.Files.Name);
        Assert.InRange(model.Files.Model.Length, 80_000_000, 100_000_000);
        Assert.Equal(384, model.Embedder.Dimension);
    }

    [Fact]
    public void Embedding_is_unit_length_and_deterministic()
    {
        var a = model.Embedder.Embed("refund order 1881 to the original card");
        var b = model.Embedder.Embed("refund order 1881 to the original card");
        Assert.Equal(384, a.Length);
        Assert.Equal(1f, TensorPrimitives.Norm(a), 3);
        Assert.Equal(a, b);
        Assert.Equal(1f, TensorPrimitives.Norm(model.Embedder.Embed(string.Empty)), 3);
    }

    [Fact]
    public void Paraphrases_are_closer_than_unrelated_text()
    {
        var refund = model.Embedder.Embed("give the customer their money back for order 42");
        var paraphrase = model.Embedder.Embed("refund order 42 to the customer");
        var unrelated = model.Embedder.Embed("the weather in Lisbon is sunny today");
        Assert.True(TensorPrimitives.CosineSimilarity(refund, paraphrase) > TensorPrimitives.CosineSimilarity(refund, unrelated) + 0.2f);
    }

    [Fact]
    public void Cancelled_inference_throws_and_the_model_still_works()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => model.Embedder.Embed("list users", cancelled.Token));
        Assert.Equal(384, model.Embedder.Embed("list users").Length);
    }

    [Fact]
    public void Missing_or_foreign_package_assembly_is_refused_with_a_typed_error()
    {
        var missing = Assert.Throws<IntentModelException>(() => EmbeddingModelFiles.FromPackageAssembly(Path.Combine(Path.GetTempPath(), "no-such-dir", "x.dll")));
        Assert.Equal("intent_model_invalid", missing.Code);

        var garbage = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(garbage, new byte[4096]);
            Assert.Equal("intent_model_invalid", Assert.Throws<IntentModelException>(() => EmbeddingModelFiles.FromPackageAssembly(garbage)).Code);
        }
        finally
        {
            File.Delete(garbage);
        }

        // A real assembly without the model's resources.
        var other = typeof(IntentModel).Assembly.Location;
        Assert.Equal("intent_model_invalid", Assert.Throws<IntentModelException>(() => EmbeddingModelFiles.FromPackageAssembly(other)).Code);
    }

    [Fact]
    public void A_graph_that_is_not_onnx_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory("aim-onnx-").FullName;
        try
        {
            var graph = Path.Combine(dir, "model.onnx");
            var vocab = Path.Combine(dir, "vocab.txt");
            File.WriteAllBytes(graph, "not an onnx graph"u8.ToArray());
            File.WriteAllBytes(vocab, model.Files.Vocabulary);
            var files = EmbeddingModelFiles.FromFiles("broken", graph, vocab);
            Assert.Equal("intent_model_invalid", Assert.Throws<IntentModelException>(() => new SentenceEmbedder(files)).Code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
