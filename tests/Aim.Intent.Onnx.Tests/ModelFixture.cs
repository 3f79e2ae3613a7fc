namespace Aim.Intent.Onnx.Tests;

/// <summary>Loads the 90 MB embedding model once for a test class (about 0.3-1.5 s).</summary>
public sealed class ModelFixture : IDisposable
{
    public ModelFixture()
    {
        Files = EmbeddingModelFiles.FromPackageAssembly();
        Embedder = new SentenceEmbedder(Files);
    }

    public EmbeddingModelFiles Files { get; }

    public SentenceEmbedder Embedder { get; }

    public void Dispose() => Embedder.Dispose();
}
