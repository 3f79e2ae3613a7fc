namespace Aim.Audit;

/// <summary>
/// The right edge of an RFC 9162 tree: the roots of the complete subtrees that make up the first
/// <see cref="Size"/> leaves, largest first. Appending a leaf and computing the root are O(log n). Not thread-safe.
/// </summary>
public sealed class MerkleFrontier
{
    private readonly List<(int Level, byte[] Hash)> _stack;

    /// <summary>The frontier of the empty tree.</summary>
    public MerkleFrontier()
    {
        _stack = new List<(int, byte[])>(64);
    }

    private MerkleFrontier(List<(int, byte[])> stack, long size)
    {
        _stack = stack;
        Size = size;
    }

    /// <summary>The number of leaves appended.</summary>
    public long Size { get; private set; }

    /// <summary>Rebuilds the frontier of a tree of <paramref name="size"/> leaves from its stored complete subtrees.</summary>
    /// <param name="size">The number of leaves.</param>
    /// <param name="node">Looks up the hash of the complete subtree (level, index); null if missing.</param>
    /// <exception cref="InvalidDataException">A subtree hash the frontier needs is missing.</exception>
    public static MerkleFrontier Restore(long size, Func<int, long, byte[]?> node)
    {
        var stack = new List<(int, byte[])>(64);
        long start = 0;
        for (var level = 62; level >= 0; level--)
        {
            var width = 1L << level;
            if ((size & width) == 0)
            {
                continue;
            }

            var hash = node(level, start >> level)
                ?? throw new InvalidDataException($"The stored subtree hash (level {level}, index {start >> level}) is missing.");
            stack.Add((level, hash));
            start += width;
        }

        return new MerkleFrontier(stack, size);
    }

    /// <summary>Appends a leaf hash (see <see cref="MerkleHash.Leaf"/>). <paramref name="completed"/> receives every internal node the leaf completes
    /// (level, index, hash), so the caller can store it for proofs.</summary>
    public void Append(byte[] leafHash, Action<int, long, byte[]>? completed = null)
    {
        _stack.Add((0, leafHash));
        Size++;
        while (_stack.Count >= 2 && _stack[^1].Level == _stack[^2].Level)
        {
            var right = _stack[^1];
            var left = _stack[^2];
            _stack.RemoveRange(_stack.Count - 2, 2);
            var level = left.Level + 1;
            var parent = MerkleHash.Node(left.Hash, right.Hash);
            _stack.Add((level, parent));
            completed?.Invoke(level, (Size >> level) - 1, parent);
        }
    }

    /// <summary>The RFC 9162 Merkle tree hash of the leaves appended so far.</summary>
    public byte[] Root()
    {
        if (_stack.Count == 0)
        {
            return MerkleHash.EmptyRoot();
        }

        var root = (byte[])_stack[^1].Hash.Clone();
        for (var i = _stack.Count - 2; i >= 0; i--)
        {
            MerkleHash.Node(_stack[i].Hash, root, root);
        }

        return root;
    }

    /// <summary>An independent copy (appending to one does not change the other).</summary>
    public MerkleFrontier Clone() => new(new List<(int, byte[])>(_stack), Size);

    /// <summary>The frontier's hashes, largest subtree first, concatenated (32 bytes each; one per set bit of <see cref="Size"/>).</summary>
    public byte[] Export()
    {
        var bytes = new byte[_stack.Count * MerkleHash.Size];
        for (var i = 0; i < _stack.Count; i++)
        {
            _stack[i].Hash.CopyTo(bytes, i * MerkleHash.Size);
        }

        return bytes;
    }

    /// <summary>Reads <see cref="Export"/> output back; false (never throws) when <paramref name="data"/> does not fit <paramref name="size"/>.</summary>
    /// <param name="size">The number of leaves the frontier covers.</param>
    /// <param name="data">The exported hashes.</param>
    /// <param name="frontier">The frontier, when the data fits.</param>
    public static bool TryImport(long size, ReadOnlySpan<byte> data, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MerkleFrontier? frontier)
    {
        frontier = null;
        if (size < 0 || data.Length != System.Numerics.BitOperations.PopCount((ulong)size) * MerkleHash.Size)
        {
            return false;
        }

        var stack = new List<(int, byte[])>(64);
        var offset = 0;
        for (var level = 62; level >= 0; level--)
        {
            if ((size & (1L << level)) != 0)
            {
                stack.Add((level, data.Slice(offset, MerkleHash.Size).ToArray()));
                offset += MerkleHash.Size;
            }
        }

        frontier = new MerkleFrontier(stack, size);
        return true;
    }
}
