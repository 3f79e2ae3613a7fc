using System.Security.Cryptography;
using Aim.Audit;

namespace Aim.Core.Tests.Audit;

public sealed class MerkleTreeTests
{
    // The leaves of the Certificate Transparency reference test vectors (RFC 6962/9162 implementations).
    private static readonly byte[][] ReferenceLeaves =
    [
        [],
        [0x00],
        [0x10],
        [0x20, 0x21],
        [0x30, 0x31],
        [0x40, 0x41, 0x42, 0x43],
        [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
    ];

    /// <summary>MTH straight from the RFC 9162 definition, as an independent reference.</summary>
    private static byte[] ReferenceRoot(IReadOnlyList<byte[]> leafHashes, int start, int count)
    {
        if (count == 0)
        {
            return SHA256.HashData(Array.Empty<byte>());
        }

        if (count == 1)
        {
            return leafHashes[start];
        }

        var k = 1;
        while (k * 2 < count)
        {
            k *= 2;
        }

        var left = ReferenceRoot(leafHashes, start, k);
        var right = ReferenceRoot(leafHashes, start + k, count - k);
        return SHA256.HashData([0x01, .. left, .. right]);
    }

    private static List<byte[]> LeafHashes(int count) =>
        Enumerable.Range(0, count).Select(i => MerkleHash.Leaf(BitConverter.GetBytes(i * 7919))).ToList();

    private static Dictionary<(int, long), byte[]> CompleteSubtrees(List<byte[]> leaves)
    {
        var nodes = new Dictionary<(int, long), byte[]>();
        var frontier = new MerkleFrontier();
        for (var i = 0; i < leaves.Count; i++)
        {
            nodes[(0, i)] = leaves[i];
            frontier.Append(leaves[i], (level, index, hash) => nodes[(level, index)] = hash);
        }

        return nodes;
    }

    [Theory]
    [InlineData(1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")]
    [InlineData(2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]
    [InlineData(3, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77")]
    [InlineData(4, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]
    [InlineData(5, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4")]
    [InlineData(6, "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef")]
    [InlineData(7, "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c")]
    [InlineData(8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
    public void Roots_match_certificate_transparency_reference_vectors(int size, string expectedHex)
    {
        var frontier = new MerkleFrontier();
        foreach (var leaf in ReferenceLeaves.Take(size))
        {
            frontier.Append(MerkleHash.Leaf(leaf));
        }

        Assert.Equal(expectedHex, Convert.ToHexStringLower(frontier.Root()));
    }

    [Fact]
    public void Empty_tree_root_is_sha256_of_nothing()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(new MerkleFrontier().Root()));
    }

    [Fact]
    public void Frontier_root_matches_rfc_definition_for_every_size()
    {
        var leaves = LeafHashes(70);
        var frontier = new MerkleFrontier();
        for (var n = 1; n <= leaves.Count; n++)
        {
            frontier.Append(leaves[n - 1]);
            Assert.Equal(ReferenceRoot(leaves, 0, n), frontier.Root());
        }
    }

    [Fact]
    public void Restored_frontier_continues_like_the_original()
    {
        var leaves = LeafHashes(45);
        var nodes = CompleteSubtrees(leaves.Take(37).ToList());
        var restored = MerkleFrontier.Restore(37, (level, index) => nodes.GetValueOrDefault((level, index)));
        foreach (var leaf in leaves.Skip(37))
        {
            restored.Append(leaf);
        }

        Assert.Equal(ReferenceRoot(leaves, 0, 45), restored.Root());
    }

    [Fact]
    public void Every_inclusion_proof_verifies_and_only_for_its_own_leaf()
    {
        var leaves = LeafHashes(33);
        var nodes = CompleteSubtrees(leaves);
        var proofs = new MerkleProofs((level, index) => nodes[(level, index)]);
        for (var n = 1; n <= leaves.Count; n++)
        {
            var root = ReferenceRoot(leaves, 0, n);
            Assert.Equal(root, proofs.SubtreeHash(0, n));
            for (var m = 0; m < n; m++)
            {
                var proof = new InclusionProof(m, n, proofs.InclusionPath(m, n));
                Assert.True(InclusionProof.Verify(leaves[m], proof, root), $"leaf {m} of {n}");
                Assert.False(InclusionProof.Verify(leaves[(m + 1) % leaves.Count], proof, root));
                if (n > 1)
                {
                    Assert.False(InclusionProof.Verify(leaves[m], proof with { LeafIndex = (m + 1) % n }, root));
                }
            }
        }
    }

    [Fact]
    public void Every_consistency_proof_verifies_and_rejects_other_roots()
    {
        var leaves = LeafHashes(33);
        var nodes = CompleteSubtrees(leaves);
        var proofs = new MerkleProofs((level, index) => nodes[(level, index)]);
        var bogus = SHA256.HashData("bogus"u8);
        for (var n = 1; n <= leaves.Count; n++)
        {
            var newRoot = ReferenceRoot(leaves, 0, n);
            for (var m = 0; m <= n; m++)
            {
                var oldRoot = ReferenceRoot(leaves, 0, m);
                var proof = new ConsistencyProof(m, n, proofs.ConsistencyPath(m, n));
                Assert.True(ConsistencyProof.Verify(oldRoot, newRoot, proof), $"{m} -> {n}");
                if (m > 0)
                {
                    Assert.False(ConsistencyProof.Verify(bogus, newRoot, proof));
                    Assert.False(ConsistencyProof.Verify(oldRoot, bogus, proof));
                }
            }
        }
    }

    [Fact]
    public void Malformed_proofs_fail_without_throwing()
    {
        var leaves = LeafHashes(8);
        var nodes = CompleteSubtrees(leaves);
        var proofs = new MerkleProofs((level, index) => nodes[(level, index)]);
        var root = ReferenceRoot(leaves, 0, 8);
        var path = proofs.InclusionPath(3, 8);

        Assert.True(InclusionProof.Verify(leaves[3], new InclusionProof(3, 8, path), root));
        Assert.False(InclusionProof.Verify(leaves[3], new InclusionProof(3, 8, path.Take(2).ToList()), root));
        Assert.False(InclusionProof.Verify(leaves[3], new InclusionProof(3, 8, [.. path, root]), root));
        Assert.False(InclusionProof.Verify(leaves[3], new InclusionProof(-1, 8, path), root));
        Assert.False(InclusionProof.Verify(leaves[3], new InclusionProof(8, 8, path), root));
        Assert.False(InclusionProof.Verify(leaves[3], new InclusionProof(3, 8, [new byte[5], .. path.Skip(1)]), root));
        Assert.False(InclusionProof.Verify(leaves[3], new InclusionProof(3, 8, [null!, .. path.Skip(1)]), root));
        Assert.False(InclusionProof.Verify(new byte[31], new InclusionProof(3, 8, path), root));
        Assert.False(InclusionProof.Verify(null!, new InclusionProof(3, 8, path), root));
        Assert.False(InclusionProof.Verify(leaves[3], null!, root));
        Assert.False(InclusionProof.Verify(leaves[3], new InclusionProof(3, 8, null!), root));

        var oldRoot = ReferenceRoot(leaves, 0, 5);
        var consistency = proofs.ConsistencyPath(5, 8);
        Assert.True(ConsistencyProof.Verify(oldRoot, root, new ConsistencyProof(5, 8, consistency)));
        Assert.False(ConsistencyProof.Verify(oldRoot, root, new ConsistencyProof(5, 8, [])));
        Assert.False(ConsistencyProof.Verify(oldRoot, root, new ConsistencyProof(8, 5, consistency)));
        Assert.False(ConsistencyProof.Verify(oldRoot, root, new ConsistencyProof(-1, 8, consistency)));
        Assert.False(ConsistencyProof.Verify(oldRoot, root, new ConsistencyProof(5, 8, [.. consistency, root])));
        Assert.False(ConsistencyProof.Verify(oldRoot, root, new ConsistencyProof(5, 8, [new byte[3], .. consistency.Skip(1)])));
        Assert.False(ConsistencyProof.Verify(oldRoot, root, new ConsistencyProof(5, 5, [])));
        Assert.False(ConsistencyProof.Verify(null!, root, new ConsistencyProof(5, 8, consistency)));
        Assert.False(ConsistencyProof.Verify(oldRoot, root, null!));
    }
}
