using Aim.Tokens.Verification;
using Xunit.Abstractions;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests.Adversarial;

public sealed class AdversarialSuiteTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_generated_attack_is_rejected_with_its_expected_code()
    {
        var clock = new ManualClock(T0.AddMinutes(1));
        var attacks = Corpus.All().ToList();
        var rows = new Dictionary<string, (int Count, int Rejected, HashSet<string> Codes)>();
        var failures = new List<string>();

        foreach (var attack in attacks)
        {
            // A fresh verifier per attack: a cached honest token must not mask anything, and vice versa.
            var verifier = Corpus.Verifier(clock, attack.RequireAttestation);
            var (token, error) = await Present(verifier, attack);
            var row = rows.TryGetValue(attack.Category, out var r) ? r : (Count: 0, Rejected: 0, Codes: new HashSet<string>());
            row.Count++;
            if (token is null && error!.Code == attack.ExpectedCode)
            {
                row.Rejected++;
                row.Codes.Add(error.Code);
            }
            else
            {
                failures.Add($"{attack} -> {(token is null ? error!.Code : "ACCEPTED")} (expected {attack.ExpectedCode})");
            }

            rows[attack.Category] = row;
        }

        output.WriteLine("| category | attacks | rejected | code |");
        output.WriteLine("|---|---:|---:|---|");
        foreach (var (category, row) in rows)
        {
            output.WriteLine($"| {category} | {row.Count} | {row.Rejected} | {string.Join(", ", row.Codes)} |");
        }

        output.WriteLine($"| total | {attacks.Count} | {attacks.Count - failures.Count} | |");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(30)));
        Assert.True(attacks.Count >= 1000, $"only {attacks.Count} attacks");
        Assert.True(rows.Count >= 10, $"only {rows.Count} categories");
    }

    private static async Task<(AipVerifiedToken? Token, AipException? Error)> Present(AipVerifier verifier, Attack attack)
    {
        if (attack.Receiver is null)
        {
            return await verifier.TryVerifyAsync(attack.Token, attack.Request);
        }

        var rpc = A2A.AipA2A.AttachToken(new System.Text.Json.Nodes.JsonObject { ["jsonrpc"] = "2.0", ["method"] = "message/send" }, attack.Token);
        try
        {
            return (await A2A.AipA2A.VerifyRequestAsync(verifier, rpc, attack.Receiver, attack.Request?.Tool), null);
        }
        catch (AipException ex)
        {
            return (null, ex);
        }
    }

    [Fact]
    public async Task Honest_baselines_of_the_corpus_verify()
    {
        var clock = new ManualClock(T0.AddMinutes(1));
        foreach (var (name, token, request) in Corpus.Baselines())
        {
            var (verified, error) = await Corpus.Verifier(clock).TryVerifyAsync(token, request);
            Assert.True(verified is not null, $"{name}: {error?.Code} {error?.Message}");
        }
    }

    [Fact]
    public async Task Attested_baselines_also_verify_when_attestation_is_required()
    {
        var clock = new ManualClock(T0.AddMinutes(1));
        foreach (var (name, token, request) in Corpus.Baselines().Where(b => b.Name.StartsWith("chained", StringComparison.Ordinal) && !b.Name.Contains("appended", StringComparison.Ordinal)))
        {
            var (verified, error) = await Corpus.Verifier(clock, requireAttestation: true).TryVerifyAsync(token, request);
            Assert.True(verified is not null, $"{name}: {error?.Code} {error?.Message}");
        }
    }
}
