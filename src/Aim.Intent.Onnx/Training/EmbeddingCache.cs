using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Aim.Intent.Onnx.Training;

/// <summary>
/// Embeddings of texts, keyed by the SHA-256 of the text, in a file named after the embedding model (so another model
/// never reads them). Embedding the corpus takes minutes; training and evaluation read it many times.
/// </summary>
internal sealed class EmbeddingCache
{
    private readonly Dictionary<string, float[]> entries = new(StringComparer.Ordinal);
    private readonly string? path;
    private readonly int width;
    private int added;

    public EmbeddingCache(string? path, int width)
    {
        this.path = path;
        this.width = width;
        if (path is null || !File.Exists(path))
        {
            return;
        }

        var bytes = File.ReadAllBytes(path);
        var record = 32 + (width * 4);
        if (bytes.Length % record != 0)
        {
            return;   // a torn file: start again rather than trust it
        }

        for (var offset = 0; offset < bytes.Length; offset += record)
        {
            var key = Convert.ToHexString(bytes, offset, 32);
            var vector = new float[width];
            for (var d = 0; d < width; d++)
            {
                vector[d] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(offset + 32 + (d * 4)));
            }

            entries[key] = vector;
        }
    }

    public int Count => entries.Count;

    public static string Key(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public bool TryGet(string text, out float[] embedding) => entries.TryGetValue(Key(text), out embedding!);

    public void Add(string text, float[] embedding)
    {
        lock (entries)
        {
            if (entries.TryAdd(Key(text), embedding))
            {
                added++;
            }
        }
    }

    public void Save()
    {
        if (path is null || added == 0)
        {
            return;
        }

        var record = 32 + (width * 4);
        var bytes = new byte[entries.Count * record];
        var offset = 0;
        foreach (var (key, vector) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            Convert.FromHexString(key).CopyTo(bytes, offset);
            for (var d = 0; d < width; d++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(offset + 32 + (d * 4)), vector[d]);
            }

            offset += record;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, bytes);
    }
}
