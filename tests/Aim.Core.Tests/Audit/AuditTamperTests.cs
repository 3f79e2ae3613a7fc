using System.Text;
using Aim.Audit;
using Aim.Crypto;
using static Aim.Core.Tests.Audit.AuditTestData;

namespace Aim.Core.Tests.Audit;

/// <summary>Each test edits the SQLite file directly, the way an attacker with file access would, and checks that
/// verification names the first bad entry with a stable reason code.</summary>
public sealed class AuditTamperTests : IDisposable
{
    private const int Entries = 20;
    private readonly TempDir _dir = new();

    public AuditTamperTests()
    {
        CreateLog(LogPath, Entries, headEvery: 5); // heads at 5, 10, 15, 20 (+ the same on dispose)
    }

    public void Dispose() => _dir.Dispose();

    private string LogPath => _dir.File("audit.db");

    private static void AssertBad(AuditVerificationResult result, string reason, long? index)
    {
        Assert.False(result.IsValid);
        Assert.Equal(reason, result.ReasonCode);
        Assert.Equal(index, result.FirstBadIndex);
        Assert.False(string.IsNullOrEmpty(result.Message));
    }

    [Fact]
    public void Untouched_log_verifies()
    {
        var result = AuditVerifier.VerifyFile(LogPath);
        Assert.True(result.IsValid, result.Message);
        Assert.Equal(Entries, result.EntriesChecked);
        Assert.Null(result.ReasonCode);
        Assert.Equal(Entries, result.LatestHead!.TreeSize);
    }

    [Fact]
    public void Modified_body_is_reported_at_its_index()
    {
        var body = Encoding.UTF8.GetString(Body(LogPath, 7)).Replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
        Sql(LogPath, "UPDATE entries SET body = $b WHERE idx = 7", ("$b", Encoding.UTF8.GetBytes(body)));
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_modified", 7);
    }

    [Fact]
    public void Body_replaced_with_text_or_garbage_is_reported_as_modified()
    {
        Sql(LogPath, "UPDATE entries SET body = 'not json at all' WHERE idx = 2");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_modified", 2);
    }

    [Fact]
    public void Modified_body_with_rewritten_leaf_hash_is_a_bad_signature()
    {
        var body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body(LogPath, 9)).Replace("users_table", "admins_table"));
        Sql(LogPath, "UPDATE entries SET body = $b WHERE idx = 9", ("$b", body));
        Sql(LogPath, "UPDATE nodes SET hash = $h WHERE level = 0 AND idx = 9", ("$h", MerkleHash.Leaf(body)));
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_signature_invalid", 9);
    }

    [Fact]
    public void Deleted_row_is_reported_at_its_index()
    {
        Sql(LogPath, "DELETE FROM entries WHERE idx = 5");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_deleted", 5);
    }

    [Fact]
    public void Deleted_and_renumbered_rows_are_reported_as_deleted()
    {
        Sql(LogPath, "DELETE FROM entries WHERE idx = 5; UPDATE entries SET idx = idx + 1000 WHERE idx > 5; UPDATE entries SET idx = idx - 1001 WHERE idx > 1000;");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_deleted", 5);
    }

    [Fact]
    public void Swapped_bodies_are_reported_as_reordered()
    {
        var three = Body(LogPath, 3);
        var four = Body(LogPath, 4);
        Sql(LogPath, "UPDATE entries SET body = $b WHERE idx = 3", ("$b", four));
        Sql(LogPath, "UPDATE entries SET body = $b WHERE idx = 4", ("$b", three));
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_reordered", 3);
    }

    [Fact]
    public void Replayed_extra_row_is_reported_as_inserted()
    {
        Sql(LogPath, "INSERT INTO entries(idx, body) VALUES ($i, $b)", ("$i", (long)Entries), ("$b", Body(LogPath, 2)));
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_inserted", Entries);
    }

    [Fact]
    public void Self_signed_tail_entry_after_the_last_head_is_caught_only_by_the_trusted_signer_list()
    {
        // Someone who can write the file appends a well-formed entry signed by a key of their own, with its leaf hash:
        // no tree head covers it yet, so only the signer check can tell it from a real agent's entry.
        using var forger = Ed25519KeyPair.Generate();
        var forged = ForgedBody(Entries, forger);
        Sql(LogPath, "INSERT INTO entries(idx, body) VALUES ($i, $b); INSERT INTO nodes(level, idx, hash) VALUES (0, $i, $h);",
            ("$i", (long)Entries), ("$b", forged), ("$h", MerkleHash.Leaf(forged)));

        Assert.True(AuditVerifier.VerifyFile(LogPath).IsValid, "without a signer list the forged tail is indistinguishable");

        using var agent = AgentKey();
        var result = AuditVerifier.VerifyFile(LogPath, null, [agent.PublicKey.ToArray()]);
        AssertBad(result, AuditReasonCodes.SignerUntrusted, Entries);
        Assert.Contains("aip:key:ed25519:z", result.Message);
    }

    [Fact]
    public void Untouched_log_verifies_with_its_agent_as_the_trusted_signer()
    {
        using var agent = AgentKey();
        Assert.True(AuditVerifier.VerifyFile(LogPath, null, [agent.PublicKey.ToArray()]).IsValid);
        using var other = Ed25519KeyPair.Generate();
        AssertBad(AuditVerifier.VerifyFile(LogPath, null, [other.PublicKey.ToArray()]), AuditReasonCodes.SignerUntrusted, 0);
        Assert.Throws<ArgumentException>(() => AuditVerifier.VerifyFile(LogPath, null, [new byte[31]]));
    }

    [Fact]
    public void Forged_entry_inserted_in_the_middle_is_reported_where_it_was_inserted()
    {
        using var forger = Ed25519KeyPair.Generate();
        Sql(LogPath, "UPDATE entries SET idx = idx + 1000 WHERE idx >= 10; UPDATE entries SET idx = idx - 999 WHERE idx >= 1000;");
        Sql(LogPath, "INSERT INTO entries(idx, body) VALUES (10, $b)", ("$b", ForgedBody(10, forger)));
        AssertBad(AuditVerifier.VerifyFile(LogPath), "entry_inserted", 10);
    }

    [Fact]
    public void Deleted_tail_is_reported_as_truncated_against_stored_heads()
    {
        Sql(LogPath, "DELETE FROM entries WHERE idx >= 17");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "truncated", 17);
    }

    [Fact]
    public void Deleted_tail_and_heads_are_caught_by_the_side_file()
    {
        Sql(LogPath, "DELETE FROM entries WHERE idx >= 12; DELETE FROM nodes WHERE level = 0 AND idx >= 12; DELETE FROM heads;");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "truncated", 12);
    }

    [Fact]
    public void Truncated_log_fails_against_earlier_tree_head()
    {
        var trusted = AuditVerifier.VerifyFile(LogPath).LatestHead!;
        Sql(LogPath, "DELETE FROM entries WHERE idx >= 12; DELETE FROM heads;");
        File.Delete(LogPath + ".heads");
        AssertBad(AuditVerifier.VerifyFile(LogPath, trusted), "truncated", 12);

        // Without any head the shortened log is self-consistent: truncation needs a head kept elsewhere.
        Assert.True(AuditVerifier.VerifyFile(LogPath).IsValid);
    }

    [Fact]
    public void Rewritten_tail_signed_by_another_key_fails_the_root_check()
    {
        using var forger = Ed25519KeyPair.Generate();
        var forged = ForgedBody(17, forger);
        Sql(LogPath, "UPDATE entries SET body = $b WHERE idx = 17", ("$b", forged));
        Sql(LogPath, "UPDATE nodes SET hash = $h WHERE level = 0 AND idx = 17", ("$h", MerkleHash.Leaf(forged)));
        AssertBad(AuditVerifier.VerifyFile(LogPath), "root_mismatch", 15);
    }

    [Fact]
    public void Tampered_stored_head_is_reported()
    {
        Sql(LogPath, "UPDATE heads SET json = replace(json, '\"tree_size\":10', '\"tree_size\":11') WHERE tree_size = 10");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "tree_head_invalid", null);
    }

    [Fact]
    public void Head_signed_by_a_foreign_key_is_reported()
    {
        using var otherLog = Ed25519KeyPair.Generate();
        var foreign = Aim.Audit.SignedTreeHead.FromJson(File.ReadAllLines(LogPath + ".heads")[0]);
        var forged = foreign with { LogPublicKey = otherLog.PublicKey.ToArray() };
        forged = forged with { Signature = otherLog.Sign(forged.SignedBytes()) };
        Assert.True(forged.VerifySignature());
        File.AppendAllText(LogPath + ".heads", forged.ToJson() + "\n");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "tree_head_invalid", null);
        AssertBad(AuditVerifier.VerifyFile(LogPath.Replace("audit.db", "audit.db"), forged), "tree_head_invalid", null);
    }

    [Fact]
    public void Garbage_line_in_the_side_file_is_reported()
    {
        File.AppendAllText(LogPath + ".heads", "{not a head}\n");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "tree_head_invalid", null);
    }

    [Fact]
    public void Torn_last_line_of_the_side_file_is_ignored()
    {
        File.AppendAllText(LogPath + ".heads", "{\"log_key\":\"abc"); // a crash in the middle of writing a head
        Assert.True(AuditVerifier.VerifyFile(LogPath).IsValid);
    }

    [Fact]
    public void Dropped_tables_make_the_log_unreadable()
    {
        Sql(LogPath, "DROP TABLE nodes");
        AssertBad(AuditVerifier.VerifyFile(LogPath), "log_unreadable", null);
        var ex = Assert.Throws<AuditLogException>(() =>
        {
            using var key = LogKey();
            AuditLog.Open(LogPath, key).Dispose();
        });
        Assert.Equal("aim_audit_corrupt", ex.Code);
    }

    [Fact]
    public void Open_log_detects_rows_deleted_behind_its_back()
    {
        using var key = LogKey();
        using var agent = AgentKey();
        using var log = AuditLog.Open(LogPath, key, new AuditLogOptions { TreeHeadEvery = 0 });
        log.Append(Record(99), agent);
        Sql(LogPath, "DELETE FROM heads; DELETE FROM entries WHERE idx = 20;");
        File.Delete(LogPath + ".heads");
        AssertBad(log.Verify(), "truncated", 20);
    }

    [Fact]
    public void Reading_damaged_rows_throws_corrupt_instead_of_returning_garbage()
    {
        Sql(LogPath, "DELETE FROM nodes WHERE level = 0 AND idx = 3; UPDATE entries SET body = x'00ff10' WHERE idx = 7;");
        using var key = LogKey();
        using var log = AuditLog.Open(LogPath, key);
        Assert.Equal("aim_audit_corrupt", Assert.Throws<AuditLogException>(() => log.GetInclusionProof(2, Entries)).Code);
        Assert.Equal("aim_audit_corrupt", Assert.Throws<AuditLogException>(() => log.Get(7)).Code);
        Assert.Equal("aim_audit_corrupt", Assert.Throws<AuditLogException>(() => log.Read(0, 10)).Code);
        Assert.NotNull(log.Get(6));
    }

    [Fact]
    public void Missing_frontier_hash_makes_open_fail_as_corrupt()
    {
        Sql(LogPath, "DELETE FROM nodes WHERE level = 4 AND idx = 0");
        using var key = LogKey();
        Assert.Equal("aim_audit_corrupt", Assert.Throws<AuditLogException>(() => AuditLog.Open(LogPath, key)).Code);
    }

    [Fact]
    public void Verification_is_cancellable()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => AuditVerifier.VerifyFile(LogPath, ct: cts.Token));
    }
}
