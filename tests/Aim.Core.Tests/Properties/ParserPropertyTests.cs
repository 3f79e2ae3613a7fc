using System.Text;
using Aim.Identity;
using Aim.Policy;
using Aim.Tests.Properties;
using CsCheck;
using Xunit.Abstractions;

namespace Aim.Core.Tests.Properties;

/// <summary>
/// Property-based and mutation tests of the policy file and key file parsers: random input and every kind of edit of a
/// real file end in the parser's own typed exception (<see cref="PolicyFormatException"/>, <see cref="KeyStoreException"/>)
/// or a successful read, never another exception; a key file edited into another valid file never yields another key
/// under the original's name and public key.
/// </summary>
[Trait("Category", "Property")]
public sealed class ParserPropertyTests(ITestOutputHelper output)
{
    private const string Policy = """
        {
          "$schema": "https://example.com/aim-policy.json",
          "version": 1,
          "agents": {
            "Support-Agent": {
              "grants": ["db:read@users_*", "email:send", { "capability": "file:read", "resources": ["s3://bucket/*"] }],
              "attributes": { "environment": "prod", "region": ["eu-west-1"] },
              "timeWindows": [ { "days": ["mon", "fri"], "startHour": 9, "endHour": 17 } ],
              "rateLimits": [ { "capability": "email:send", "limit": 10, "per": "00:01:00" } ],
              "budget": { "limitUsd": 50.25, "per": "1.00:00:00" }
            },
            "reporter": { "grants": ["*:read"] }
          }
        }
        """;

    private static void PolicyParsesOrRefusesTyped(byte[] utf8)
    {
        try
        {
            AgentPolicySet.Parse(utf8, "property.json");
        }
        catch (PolicyFormatException ex)
        {
            Assert.Equal(PolicyFormatException.ErrorCode, ex.Code);
            Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        }
    }

    [Fact]
    public void Policy_files_random_or_edited_parse_or_fail_with_a_policy_error()
    {
        PolicyParsesOrRefusesTyped(Encoding.UTF8.GetBytes(Policy));
        Gen.Byte.Array[0, 400].Sample(PolicyParsesOrRefusesTyped, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(3000), threads: PropertyRun.Threads);
        Mutations.Of(Encoding.UTF8.GetBytes(Policy)).Sample(PolicyParsesOrRefusesTyped, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(6000), threads: PropertyRun.Threads);
    }

    [Fact]
    public void Policy_documents_built_from_the_schema_vocabulary_parse_or_fail_with_a_policy_error()
    {
        // Structurally valid JSON whose members come from the policy schema, with hostile values: type confusion, out of range numbers, bad durations.
        var keys = Gen.OneOf<string>("version", "agents", "$schema", "grants", "attributes", "timeWindows", "rateLimits", "budget", "capability", "resources",
            "days", "startHour", "endHour", "limit", "per", "limitUsd", "support-agent", "Support-Agent", "x");
        var scalars = Gen.OneOf(
            Gen.OneOf<string>("1", "0", "-1", "1e400", "2147483648", "9.5", "true", "null", "\"\"", "\"db:read\"", "\"*:*\"", "\"00:01:00\"", "\"-00:00:01\"", "\"99999999.00:00:00\"",
                "\"mon\"", "\"\\ud800\"", "\"a\\u0000b\"", "\"::\"", "\"db:read@\""),
            Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var json = Gen.Recursive<string>((depth, self) => depth > 4
            ? scalars
            : Gen.OneOf(
                scalars,
                self.Array[0, 4].Select(items => "[" + string.Join(",", items) + "]"),
                Gen.Select(keys, self).Array[0, 5].Select(members => "{" + string.Join(",", members.Select(m => $"\"{m.Item1}\":{m.Item2}")) + "}")));
        json.Select(Encoding.UTF8.GetBytes).Sample(PolicyParsesOrRefusesTyped, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(4000), threads: PropertyRun.Threads);
    }

    [Fact]
    public void Key_files_random_or_edited_read_or_fail_with_a_key_store_error()
    {
        string home = Directory.CreateTempSubdirectory("aim-keyfile-property").FullName;
        try
        {
            var store = new AgentKeyStore(home);
            byte[] publicKey;
            using (var created = store.Create("support-agent"))
            {
                publicKey = created.Identity.PublicKey.ToArray();
            }

            string path = Directory.EnumerateFiles(home, "support-agent*", SearchOption.AllDirectories).Single();
            var content = File.ReadAllBytes(path);
            using (var read = KeyFileReader.Read(content, path, "support-agent"))
            {
                Assert.Equal(publicKey, read.Identity.PublicKey.ToArray());
            }

            void ReadsOrRefusesTyped(byte[] bytes)
            {
                try
                {
                    using var key = KeyFileReader.Read(bytes, path, "support-agent");
                    // An edit that still reads (whitespace, say) must give the same key: the stored public key checks the seed.
                    Assert.Equal(publicKey, key.Identity.PublicKey.ToArray());
                    Assert.Equal("support-agent", key.Identity.Name);
                }
                catch (KeyStoreException ex)
                {
                    Assert.Contains(ex.Code, new[] { KeyStoreException.Corrupt, KeyStoreException.Foreign, KeyStoreException.UnsupportedVersion, KeyStoreException.NameInvalid });
                }
            }

            Gen.Byte.Array[0, 400].Sample(ReadsOrRefusesTyped, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(3000), threads: PropertyRun.Threads);
            Mutations.Of(content).Sample(ReadsOrRefusesTyped, writeLine: output.WriteLine, seed: PropertyRun.Seed, iter: PropertyRun.Iterations(6000), threads: PropertyRun.Threads);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
