using System.Numerics;
using System.Security.Cryptography;

namespace Aim.Audit;

/// <summary>RFC 9162 section 2.1.1 hashing: SHA-256 with domain separation between leaves and nodes. The one
/// implementation of the tree hash in Aim: the embedded audit log and the server's log both use it.</summary>
public static class MerkleHash
{
    /// <summary>The size of every hash (SHA-256): 32 bytes.</summary>
    public const int Size = 32;

    // One reusable SHA-256 context per thread: cheaper than setting up a fresh one for every 65-byte node hash,
    // which dominates proof verification.
    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    private static IncrementalHash Sha256 => t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>MTH of the empty tree: SHA-256 of the empty string.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>SHA-256(0x00 || entry).</summary>
    public static byte[] Leaf(ReadOnlySpan<byte> entry)
    {
        var sha = Sha256;
        ReadOnlySpan<byte> prefix = [0x00];
        sha.AppendData(prefix);
        sha.AppendData(entry);
        return sha.GetHashAndReset();
    }

    /// <summary>SHA-256(0x01 || left || right).</summary>
    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var result = new byte[Size];
        Node(left, right, result);
        return result;
    }

    /// <summary>SHA-256(0x01 || left || right) into <paramref name="destination"/> (which may alias an input).</summary>
    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * Size)];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + Size)..]);
        var sha = Sha256;
        sha.AppendData(buffer);
        sha.GetHashAndReset(destination);
    }

    /// <summary>The largest power of two strictly smaller than <paramref name="n"/> (n &gt; 1): RFC 9162's k.</summary>
    /// <returns>The split point k.</returns>
    public static long SplitPoint(long n) => 1L << (63 - BitOperations.LeadingZeroCount((ulong)(n - 1)));

    /// <summary>True when <paramref name="n"/> is a positive power of two.</summary>
    public static bool IsPowerOfTwo(long n) => n > 0 && (n & (n - 1)) == 0;
}
