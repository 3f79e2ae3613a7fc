using System.Numerics;
using System.Security.Cryptography;

namespace Aim.Audit;

/// <summary>RFC 9162 section 2.1.1 hashing: SHA-256 with domain separation between leaves and nodes.</summary>
internal static class MerkleHash
{
    public const int Size = 32;

    /// <summary>MTH of the empty tree: SHA-256 of the empty string.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>SHA-256(0x00 || entry).</summary>
    public static byte[] Leaf(ReadOnlySpan<byte> entry)
    {
        // One-shot hashing over a prefixed copy: far cheaper than an incremental hash object per leaf.
        var length = entry.Length + 1;
        var rented = length > 1024 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        var buffer = rented is null ? stackalloc byte[length] : rented.AsSpan(0, length);
        buffer[0] = 0x00;
        entry.CopyTo(buffer[1..]);
        var hash = SHA256.HashData(buffer);
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }

        return hash;
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
        SHA256.HashData(buffer, destination);
    }

    /// <summary>The largest power of two strictly smaller than <paramref name="n"/> (n &gt; 1): RFC 9162's k.</summary>
    public static long SplitPoint(long n) => 1L << (63 - BitOperations.LeadingZeroCount((ulong)(n - 1)));

    public static bool IsPowerOfTwo(long n) => n > 0 && (n & (n - 1)) == 0;
}
