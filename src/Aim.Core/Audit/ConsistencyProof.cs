using System.Security.Cryptography;

namespace Aim.Audit;

/// <summary>
/// An RFC 9162 consistency proof: shows that the tree of the first <paramref name="OldSize"/> entries is a prefix
/// of the tree of the first <paramref name="NewSize"/> entries, so nothing committed earlier was changed or dropped.
/// </summary>
/// <param name="OldSize">The size of the earlier tree.</param>
/// <param name="NewSize">The size of the later tree.</param>
/// <param name="Path">The proof hashes (32 bytes each); empty when the sizes are equal or the old tree is empty.</param>
public sealed record ConsistencyProof(long OldSize, long NewSize, IReadOnlyList<byte[]> Path)
{
    /// <summary>
    /// Verifies the proof with the RFC 9162 section 2.1.4.2 algorithm. Equal sizes need an empty path and equal
    /// roots; an empty old tree (size 0) is consistent with any tree. Returns false (never throws) for malformed input.
    /// </summary>
    /// <param name="oldRoot">The root of the tree of size <see cref="OldSize"/>.</param>
    /// <param name="newRoot">The root of the tree of size <see cref="NewSize"/>.</param>
    /// <param name="proof">The proof.</param>
    public static bool Verify(byte[] oldRoot, byte[] newRoot, ConsistencyProof proof)
    {
        if (oldRoot is not { Length: MerkleHash.Size } || newRoot is not { Length: MerkleHash.Size } || proof?.Path is null)
        {
            return false;
        }

        var first = proof.OldSize;
        var second = proof.NewSize;
        if (first < 0 || second < first)
        {
            return false;
        }

        if (first == 0)
        {
            return proof.Path.Count == 0;
        }

        if (first == second)
        {
            return proof.Path.Count == 0 && CryptographicOperations.FixedTimeEquals(oldRoot, newRoot);
        }

        if (proof.Path.Count == 0)
        {
            return false;
        }

        var path = new List<byte[]>(proof.Path.Count + 1);
        if (MerkleHash.IsPowerOfTwo(first))
        {
            path.Add(oldRoot);
        }

        path.AddRange(proof.Path);
        foreach (var c in path)
        {
            if (c is not { Length: MerkleHash.Size })
            {
                return false;
            }
        }

        var fn = first - 1;
        var sn = second - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        Span<byte> fr = stackalloc byte[MerkleHash.Size];
        Span<byte> sr = stackalloc byte[MerkleHash.Size];
        path[0].CopyTo(fr);
        path[0].CopyTo(sr);
        for (var i = 1; i < path.Count; i++)
        {
            var c = path[i];
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleHash.Node(c, fr, fr);
                MerkleHash.Node(c, sr, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                MerkleHash.Node(sr, c, sr);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0
            & CryptographicOperations.FixedTimeEquals(fr, oldRoot)
            & CryptographicOperations.FixedTimeEquals(sr, newRoot);
    }
}
