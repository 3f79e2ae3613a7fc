using System.Security.Cryptography;

namespace Aim.Server.AuditLog;

/// <summary>
/// An append-only RFC 9162 Merkle tree over leaf hashes, the same hashing as Aim.Core's audit log:
/// leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right). It keeps every complete subtree hash
/// (level by level), so roots and proofs cost O(log n) lookups. Proofs verify with
/// <see cref="Aim.Audit.InclusionProof.Verify"/> and <see cref="Aim.Audit.ConsistencyProof.Verify"/>.
/// Not thread-safe: the caller locks.
/// </summary>
internal sealed class MerkleTree
{
    public const int HashSize = 32;

    // _levels[l][i] = hash of leaves [i * 2^l, (i + 1) * 2^l), present once that subtree is complete.
    private readonly List<List<byte[]>> _levels = [[]];

    public long Size => _levels[0].Count;

    public static byte[] LeafHash(ReadOnlySpan<byte> entry)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadOnlySpan<byte> prefix = [0x00];
        hash.AppendData(prefix);
        hash.AppendData(entry);
        return hash.GetHashAndReset();
    }

    public static byte[] NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * HashSize)];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        return SHA256.HashData(buffer);
    }

    public void Append(byte[] leafHash)
    {
        _levels[0].Add(leafHash);
        int level = 0;
        // Each completed pair at one level completes a node at the next.
        while (_levels[level].Count % 2 == 0)
        {
            var nodes = _levels[level];
            var parent = NodeHash(nodes[^2], nodes[^1]);
            if (_levels.Count == level + 1)
            {
                _levels.Add([]);
            }

            _levels[level + 1].Add(parent);
            level++;
        }
    }

    public byte[] Root(long size)
    {
        Check(size);
        return Subtree(0, size);
    }

    public List<byte[]> InclusionPath(long index, long size)
    {
        Check(size);
        if (index < 0 || index >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        var path = new List<byte[]>();
        Inclusion(index, 0, size, path);
        path.Reverse();
        return path;
    }

    public List<byte[]> ConsistencyPath(long oldSize, long newSize)
    {
        Check(newSize);
        if (oldSize < 0 || oldSize > newSize)
        {
            throw new ArgumentOutOfRangeException(nameof(oldSize));
        }

        var path = new List<byte[]>();
        if (oldSize > 0 && oldSize < newSize)
        {
            Consistency(oldSize, 0, newSize, true, path);
            path.Reverse();
        }

        return path;
    }

    private void Check(long size)
    {
        if (size < 0 || size > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(size));
        }
    }

    private byte[] Subtree(long start, long size)
    {
        if (size == 0)
        {
            return SHA256.HashData(ReadOnlySpan<byte>.Empty);
        }

        if ((size & (size - 1)) == 0)
        {
            int level = System.Numerics.BitOperations.Log2((ulong)size);
            return _levels[level][(int)(start >> level)];
        }

        long k = Split(size);
        return NodeHash(Subtree(start, k), Subtree(start + k, size - k));
    }

    private void Inclusion(long m, long start, long n, List<byte[]> path)
    {
        if (n <= 1)
        {
            return;
        }

        long k = Split(n);
        if (m < k)
        {
            path.Add(Subtree(start + k, n - k));
            Inclusion(m, start, k, path);
        }
        else
        {
            path.Add(Subtree(start, k));
            Inclusion(m - k, start + k, n - k, path);
        }
    }

    private void Consistency(long m, long start, long n, bool startsAtOldRoot, List<byte[]> path)
    {
        if (m == n)
        {
            if (!startsAtOldRoot)
            {
                path.Add(Subtree(start, m));
            }

            return;
        }

        long k = Split(n);
        if (m <= k)
        {
            path.Add(Subtree(start + k, n - k));
            Consistency(m, start, k, startsAtOldRoot, path);
        }
        else
        {
            path.Add(Subtree(start, k));
            Consistency(m - k, start + k, n - k, false, path);
        }
    }

    // RFC 9162: the largest power of two strictly smaller than n.
    private static long Split(long n) => 1L << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(n - 1)));
}
