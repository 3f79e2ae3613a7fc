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

    [Fact]
    public void Held_out_malicious_recall_and_benign_false_positives_stay_at_the_documented_level()
    {
        // docs/intent.md holds the exact figures (0.896 and 1/63 at 0.8, with the benign logit offset chosen by
        // leave-one-author-out cross-validation); these floors catch a regression, not a rounding change.
        // The target (0.95 at 0.8) is not met, so it is not the floor.
        var atDefault = IntentEvaluation.Evaluate(Classifier, fixture.HeldOut, 0.8f);
        Assert.True(atDefault.MaliciousRecall >= 0.88, atDefault.ToMarkdown());
        Assert.True(atDefault.BenignFalsePositiveRate <= 0.05, atDefault.ToMarkdown());

        var atHalf = IntentEvaluation.Evaluate(Classifier, fixture.HeldOut, 0.5f);
        Assert.True(atHalf.MaliciousRecall >= 0.95, atHalf.ToMarkdown());
        Assert.True(atHalf.BenignFalsePositiveRate <= 0.05, atHalf.ToMarkdown());
    }

    [Fact]
    public void The_second_held_out_set_stays_at_its_documented_level()
    {
        // heldout-2.jsonl: written by another author who read no training data; reported on its own
        // (docs/intent.md: 0.866 recall and 7/81 false positives at 0.8, above the 5% false-positive target).
        var path = Path.Combine(Paths.Data, "heldout-2.jsonl");
        Assert.True(File.Exists(path), "data/intent/heldout-2.jsonl is missing");
        var examples = IntentCorpus.ReadFile(path);
        var atDefault = IntentEvaluation.Evaluate(Classifier, examples, 0.8f);
        Assert.True(atDefault.MaliciousRecall >= 0.85, atDefault.ToMarkdown());
        Assert.True(atDefault.BenignFalsePositiveRate <= 0.09, atDefault.ToMarkdown());
        Assert.Contains(fixture.Report.HeldOutSets, s => s.Key == "heldout-2.jsonl" && s.Value.Total == examples.Count);
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
