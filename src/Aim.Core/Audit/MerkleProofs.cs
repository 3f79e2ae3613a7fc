namespace Aim.Audit;

/// <summary>
/// RFC 9162 proof generation (sections 2.1.3.1 and 2.1.4.1) over stored complete-subtree hashes: every
/// left subtree in the RFC's recursion is complete and aligned, so each step is one lookup. Verify what it builds with
/// <see cref="InclusionProof.Verify"/> and <see cref="ConsistencyProof.Verify"/>.
/// </summary>
public sealed class MerkleProofs
{
    private readonly Func<int, long, byte[]> _node;

    /// <param name="node">Returns the hash of the complete subtree (level, index), i.e. leaves
    /// [index * 2^level, (index + 1) * 2^level).</param>
    public MerkleProofs(Func<int, long, byte[]> node)
    {
        _node = node;
    }

    /// <summary>
    /// The complete subtrees (level, index) that <paramref name="build"/> reads, found by a dry run with placeholder
    /// hashes, so a store can fetch them all in one query before building the real proof.
    /// </summary>
    /// <param name="build">Builds a proof or root with the <see cref="MerkleProofs"/> it is given.</param>
    /// <returns>The subtrees read.</returns>
    public static IReadOnlyCollection<(int Level, long Index)> NodesNeeded(Action<MerkleProofs> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        var needed = new HashSet<(int, long)>();
        var placeholder = new byte[MerkleHash.Size];
        build(new MerkleProofs((l, i) =>
        {
            needed.Add((l, i));
            return placeholder;
        }));
        return needed;
    }

    /// <summary>MTH(D[start : start + size]).</summary>
    public byte[] SubtreeHash(long start, long size)
    {
        if (size == 0)
        {
            return MerkleHash.EmptyRoot();
        }

        if (MerkleHash.IsPowerOfTwo(size))
        {
            var level = System.Numerics.BitOperations.Log2((ulong)size);
            return _node(level, start >> level);
        }

        var k = MerkleHash.SplitPoint(size);
        return MerkleHash.Node(SubtreeHash(start, k), SubtreeHash(start + k, size - k));
    }

    /// <summary>PATH(m, D[n]): the audit path of leaf <paramref name="m"/> in the tree of the first <paramref name="n"/> leaves.</summary>
    public List<byte[]> InclusionPath(long m, long n)
    {
        var path = new List<byte[]>();
        InclusionPath(m, 0, n, path);
        path.Reverse(); // the recursion collects from the root down; the RFC's order is leaf upward
        return path;
    }

    private void InclusionPath(long m, long start, long n, List<byte[]> path)
    {
        if (n <= 1)
        {
            return;
        }

        var k = MerkleHash.SplitPoint(n);
        if (m < k)
        {
            path.Add(SubtreeHash(start + k, n - k));
            InclusionPath(m, start, k, path);
        }
        else
        {
            path.Add(SubtreeHash(start, k));
            InclusionPath(m - k, start + k, n - k, path);
        }
    }

    /// <summary>PROOF(m, D[n]): the consistency proof between the trees of the first m and first n leaves.</summary>
    public List<byte[]> ConsistencyPath(long m, long n)
    {
        var path = new List<byte[]>();
        if (m > 0 && m < n)
        {
            SubProof(m, 0, n, true, path);
            path.Reverse();
        }

        return path;
    }

    private void SubProof(long m, long start, long n, bool startsAtOldRoot, List<byte[]> path)
    {
        if (m == n)
        {
            if (!startsAtOldRoot)
            {
                path.Add(SubtreeHash(start, m));
            }

            return;
        }

        var k = MerkleHash.SplitPoint(n);
        if (m <= k)
        {
            path.Add(SubtreeHash(start + k, n - k));
            SubProof(m, start, k, startsAtOldRoot, path);
        }
        else
        {
            path.Add(SubtreeHash(start, k));
            SubProof(m - k, start + k, n - k, false, path);
        }
    }
}
