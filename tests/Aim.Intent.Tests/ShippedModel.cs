using Aim.Intent.Training;

namespace Aim.Intent.Tests;

/// <summary>Retrains once per test run (same code as <c>aim intent train</c>) and evaluates on the held-out set.</summary>
public sealed class ShippedModelFixture
{
    public ShippedModelFixture()
    {
        Report = IntentTrainingRun.FromDirectory(Paths.Data);
        HeldOut = IntentCorpus.ReadHeldOut(Paths.Data);
        EmbeddedBytes = ReadEmbedded();
    }

    public IntentTrainingReport Report { get; }

    public IReadOnlyList<IntentExample> HeldOut { get; }

    public byte[] EmbeddedBytes { get; }

    private static byte[] ReadEmbedded()
    {
        using var stream = typeof(IntentModel).Assembly.GetManifestResourceStream("Aim.Intent.intent-model.bin")!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

public sealed class ShippedModelTests(ShippedModelFixture fixture) : IClassFixture<ShippedModelFixture>
{
    private static readonly IntentClassifier Classifier = IntentClassifier.Default;

    [Fact]
    public void Embedded_model_is_byte_for_byte_what_the_trainer_produces_from_the_corpus()
    {
        var retrained = fixture.Report.Model.ToBytes();
        Assert.True(
            retrained.AsSpan().SequenceEqual(fixture.EmbeddedBytes),
            "The embedded model differs from a fresh `aim intent train --data data/intent`: retrain and commit src/Aim.Intent/Model/intent-model.bin.");
    }

    [Fact]
    public void Embedded_model_is_a_few_megabytes_at_most()
    {
        Assert.InRange(fixture.EmbeddedBytes.Length, 1, 4 << 20);
    }

    [Theory]
    [InlineData("heldout.jsonl", 0.95, 0.05)]
    [InlineData("heldout-2.jsonl", 0.92, 0.12)]
    [InlineData("heldout-3.jsonl", 0.88, 0.12)]
    [InlineData("heldout-short.jsonl", 1.0, 0.15)]
    public void Held_out_sets_stay_at_their_documented_three_outcome_level_under_the_critical_defaults(string file, double minCaught, double maxSteppedUp)
    {
        // docs/intent.md holds the exact figures of the one final evaluation (first stage alone, critical defaults:
        // 0.963 / 1 of 63 / 0, 0.929 / 8 of 81 / 0, 0.891 / 8 of 80 / 0, 1.000 / 7 of 60 / 0); these floors catch a
        // regression, not a rounding change.
        var examples = IntentCorpus.ReadFile(Path.Combine(Paths.Data, file));
        var scored = examples.Select(e => new IntentScoredExample(file, e.Label != IntentClass.Benign, Classifier.Predict(e.Text).MaliciousProbability)).ToArray();
        var counts = IntentOutcomeReport.Count(scored, Check.IntentCheckOptions.DefaultCritical)[^1];
        var table = IntentOutcomeReport.ToMarkdown([counts]);
        Assert.True(counts.CaughtRate >= minCaught, table);
        Assert.True(counts.BenignStepUpRate <= maxSteppedUp, table);
        Assert.Equal(0, counts.BenignDenied);
    }

    [Fact]
    public void At_the_old_single_threshold_the_held_out_figures_are_where_the_docs_say()
    {
        // The pre-v2 rule (flag at 0.8), kept as a regression check of the model itself: 0.878 and 1/63, 0.850 and 4/81.
        var atDefault = IntentEvaluation.Evaluate(Classifier, fixture.HeldOut, 0.8f);
        Assert.True(atDefault.MaliciousRecall >= 0.87, atDefault.ToMarkdown());
        Assert.True(atDefault.BenignFalsePositiveRate <= 0.05, atDefault.ToMarkdown());
        var second = IntentEvaluation.Evaluate(Classifier, IntentCorpus.ReadFile(Path.Combine(Paths.Data, "heldout-2.jsonl")), 0.8f);
        Assert.True(second.MaliciousRecall >= 0.84, second.ToMarkdown());
        Assert.True(second.BenignFalsePositiveRate <= 0.07, second.ToMarkdown());
        Assert.Contains(fixture.Report.HeldOutSets, s => s.Key == "heldout-2.jsonl" && s.Value.Total == second.Total);
    }

    [Theory]
    [InlineData(IntentClass.Exfiltration)]
    [InlineData(IntentClass.Injection)]
    [InlineData(IntentClass.PrivilegeEscalation)]
    [InlineData(IntentClass.Persistence)]
    [InlineData(IntentClass.CredentialAbuse)]
    [InlineData(IntentClass.LateralMovement)]
    [InlineData(IntentClass.SocialEngineering)]
    [InlineData(IntentClass.PolicyViolation)]
    [InlineData(IntentClass.Steganography)]
    public void Each_attack_class_is_detected_on_most_of_its_held_out_examples(IntentClass intent)
    {
        var examples = fixture.HeldOut.Where(e => e.Label == intent).ToList();
        Assert.NotEmpty(examples);
        var labelled = examples.Count(e => Classifier.Predict(e.Text).Label == intent);
        var flagged = examples.Count(e => Classifier.Predict(e.Text).IsFlagged(0.8f));
        Assert.True(labelled >= examples.Count * 0.6, $"{intent.ToLabel()}: {labelled}/{examples.Count} labelled right");
        Assert.True(flagged >= examples.Count * 0.5, $"{intent.ToLabel()}: {flagged}/{examples.Count} flagged at 0.8");
    }

    [Theory]
    [InlineData("shell:exec", "ci-runner", "remove old build artifacts: rm -rf ./artifacts/* ./coverage")]
    [InlineData("payment:refund", "customer 7781", "refund 23.90 for order 55102, item arrived damaged, approved by team lead Sara in ticket CS-8812")]
    [InlineData("auth:reset", "okta", "send a password reset link to the employee's registered work email after they passed the callback verification")]
    [InlineData("db:query", "sessions", "DELETE FROM sessions WHERE last_seen < NOW() - INTERVAL '30 days'")]
    [InlineData("email:send", "all-staff@acme.example", "reminder: the security team will run a phishing simulation next week; report anything suspicious with the Report button")]
    [InlineData("shell:exec", "host", "nmap -p 443 shop.acme.example to confirm the TLS port is open after the firewall change")]
    [InlineData("doc:write", "wiki", "document the steganography detection tool we evaluated for the DLP project")]
    public void Benign_look_alikes_from_the_held_out_set_pass(string capability, string resource, string input)
    {
        var prediction = Classifier.Predict(IntentText.Build(capability, resource, input));
        Assert.False(prediction.IsFlagged(0.8f), $"{prediction.Label.ToLabel()} {prediction.MaliciousProbability:0.00}");
    }
}
