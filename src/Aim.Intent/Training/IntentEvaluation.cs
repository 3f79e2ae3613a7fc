using System.Globalization;
using System.Text;

namespace Aim.Intent.Training;

/// <summary>Precision and recall of one class on an evaluation set.</summary>
/// <param name="Label">The class.</param>
/// <param name="Support">How many examples truly are this class.</param>
/// <param name="Predicted">How many examples were predicted as this class.</param>
/// <param name="Correct">How many were predicted as this class and are.</param>
public sealed record IntentClassMetrics(IntentClass Label, int Support, int Predicted, int Correct)
{
    /// <summary>Correct / Predicted (1 when nothing was predicted).</summary>
    public double Precision => Predicted == 0 ? 1 : (double)Correct / Predicted;

    /// <summary>Correct / Support (1 when there is no support).</summary>
    public double Recall => Support == 0 ? 1 : (double)Correct / Support;
}

/// <summary>
/// How a classifier does on labelled examples: per-class precision and recall (arg-max label) and the
/// operating figures of the authorization step: malicious recall (malicious examples flagged at the
/// threshold, whatever attack class) and benign false positives (benign examples flagged).
/// </summary>
public sealed class IntentEvaluation
{
    private IntentEvaluation(IReadOnlyList<IntentClassMetrics> classes, int total, int correct, int malicious, int maliciousFlagged, int benign, int benignFlagged, float threshold)
    {
        Classes = classes;
        Total = total;
        Correct = correct;
        Malicious = malicious;
        MaliciousFlagged = maliciousFlagged;
        Benign = benign;
        BenignFlagged = benignFlagged;
        Threshold = threshold;
    }

    /// <summary>Per-class figures in <see cref="IntentClass"/> order.</summary>
    public IReadOnlyList<IntentClassMetrics> Classes { get; }

    /// <summary>The number of examples.</summary>
    public int Total { get; }

    /// <summary>Examples whose arg-max label is right.</summary>
    public int Correct { get; }

    /// <summary>Examples whose true label is not benign.</summary>
    public int Malicious { get; }

    /// <summary>Malicious examples flagged at <see cref="Threshold"/>.</summary>
    public int MaliciousFlagged { get; }

    /// <summary>Benign examples.</summary>
    public int Benign { get; }

    /// <summary>Benign examples flagged at <see cref="Threshold"/> (false positives).</summary>
    public int BenignFlagged { get; }

    /// <summary>The decision threshold on the malicious probability.</summary>
    public float Threshold { get; }

    /// <summary>Correct / Total.</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;

    /// <summary>MaliciousFlagged / Malicious.</summary>
    public double MaliciousRecall => Malicious == 0 ? 1 : (double)MaliciousFlagged / Malicious;

    /// <summary>BenignFlagged / Benign.</summary>
    public double BenignFalsePositiveRate => Benign == 0 ? 0 : (double)BenignFlagged / Benign;

    /// <summary>Evaluates a classifier.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static IntentEvaluation Evaluate(IntentClassifier classifier, IReadOnlyList<IntentExample> examples, float threshold)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(examples);
        var support = new int[IntentLabels.Count];
        var predicted = new int[IntentLabels.Count];
        var correct = new int[IntentLabels.Count];
        int malicious = 0, maliciousFlagged = 0, benign = 0, benignFlagged = 0;
        foreach (var example in examples)
        {
            var prediction = classifier.Predict(example.Text);
            support[(int)example.Label]++;
            predicted[(int)prediction.Label]++;
            if (prediction.Label == example.Label)
            {
                correct[(int)example.Label]++;
            }

            var flagged = prediction.IsFlagged(threshold);
            if (example.Label == IntentClass.Benign)
            {
                benign++;
                benignFlagged += flagged ? 1 : 0;
            }
            else
            {
                malicious++;
                maliciousFlagged += flagged ? 1 : 0;
            }
        }

        var classes = Enumerable.Range(0, IntentLabels.Count)
            .Select(c => new IntentClassMetrics((IntentClass)c, support[c], predicted[c], correct[c]))
            .ToArray();
        return new IntentEvaluation(classes, examples.Count, correct.Sum(), malicious, maliciousFlagged, benign, benignFlagged, threshold);
    }

    /// <summary>A Markdown report: the per-class table and the operating figures.</summary>
    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine("| class | support | precision | recall |");
        text.AppendLine("|---|---:|---:|---:|");
        foreach (var c in Classes)
        {
            text.AppendLine(inv, $"| {c.Label.ToLabel()} | {c.Support} | {c.Precision:0.000} | {c.Recall:0.000} |");
        }

        text.AppendLine();
        text.AppendLine(inv, $"accuracy (arg-max label): {Accuracy:0.000} ({Correct}/{Total})");
        text.AppendLine(inv, $"malicious recall at threshold {Threshold:0.00}: {MaliciousRecall:0.000} ({MaliciousFlagged}/{Malicious})");
        text.AppendLine(inv, $"benign false positives at threshold {Threshold:0.00}: {BenignFalsePositiveRate:0.000} ({BenignFlagged}/{Benign})");
        return text.ToString();
    }
}
