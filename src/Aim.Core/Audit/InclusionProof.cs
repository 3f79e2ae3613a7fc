using System.Security.Cryptography;

namespace Aim.Audit;

/// <summary>
/// An RFC 9162 inclusion proof (audit path): shows that the leaf at <paramref name="LeafIndex"/> is part of the
/// tree of the first <paramref name="TreeSize"/> entries. Verifiable by anyone holding only hashes.
/// </summary>
/// <param name="LeafIndex">The zero-based index of the entry.</param>
/// <param name="TreeSize">The size of the tree the proof is for.</param>
/// <param name="Path">The sibling hashes from the leaf up to the root (32 bytes each).</param>
public sealed record InclusionProof(long LeafIndex, long TreeSize, IReadOnlyList<byte[]> Path)
{
    /// <summary>
    /// Verifies the proof with the RFC 9162 section 2.1.3.2 algorithm. Returns false (never throws) for any
    /// malformed input: a negative or out-of-range index, a hash that is not 32 bytes, a path of the wrong length.
    /// </summary>
    /// <param name="leafHash">The leaf hash, SHA-256(0x00 || entry bytes) (see <see cref="AuditEntry.LeafHash"/>).</param>
    /// <param name="proof">The proof.</param>
    /// <param name="rootHash">The root of the tree of size <see cref="TreeSize"/>, typically from a verified <see cref="SignedTreeHead"/>.</param>
    public static bool Verify(byte[] leafHash, InclusionProof proof, byte[] rootHash)
    {
        if (leafHash is not { Length: MerkleHash.Size } || rootHash is not { Length: MerkleHash.Size } || proof?.Path is null)
        {
            return false;
        }

        if (proof.LeafIndex < 0 || proof.LeafIndex >= proof.TreeSize)
        {
            return false;
        }

        var fn = proof.LeafIndex;
        var sn = proof.TreeSize - 1;
        Span<byte> r = stackalloc byte[MerkleHash.Size];
        leafHash.CopyTo(r);
        foreach (var p in proof.Path)
        {
            if (p is not { Length: MerkleHash.Size } || sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleHash.Node(p, r, r);
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
                MerkleHash.Node(r, p, r);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0 && CryptographicOperations.FixedTimeEquals(r, rootHash);
    }
}
