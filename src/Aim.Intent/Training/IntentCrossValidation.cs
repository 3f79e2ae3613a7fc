using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Aim.Intent.Training;

/// <summary>One leave-one-author-out fold: a model trained on every other training file, evaluated on this one.</summary>
/// <param name="File">The hand-written training file left out and evaluated on.</param>
/// <param name="TrainingExamples">How many examples (after weighting and subsampling) the fold's model was trained on.</param>
/// <param name="Temperature">The temperature the fold's model carries (fitted on its own training files, or fixed).</param>
/// <param name="Evaluation">The fold file's figures at the options' threshold (what the authorization step would decide).</param>
/// <param name="Elapsed">Training time of the fold.</param>
public sealed record IntentFold(string File, int TrainingExamples, float Temperature, IntentEvaluation Evaluation, TimeSpan Elapsed)
{
    /// <summary>Per example of <see cref="File"/>: whether it is malicious, and the model's logits before the temperature.</summary>
    internal IReadOnlyList<(bool Malicious, double[] Logits)> Scores { get; init; } = [];

    /// <summary>Per example of <see cref="File"/>, in file order: the fold model's malicious probability on the shipped (float) inference path.</summary>
    public IReadOnlyList<float> MaliciousProbabilities { get; init; } = [];
}

/// <summary>The outcome of <see cref="IntentCrossValidation.Run(IReadOnlyList{IntentCorpusFile}, IntentTrainingOptions?, int, TextWriter?)"/>.</summary>
public sealed class IntentCrossValidationReport
{
    internal IntentCrossValidationReport(IReadOnlyList<IntentFold> folds, IntentTrainingOptions options, TimeSpan elapsed)
    {
        Folds = folds;
        Options = options;
        Elapsed = elapsed;
    }

    /// <summary>The folds, in ordinal file-name order.</summary>
    public IReadOnlyList<IntentFold> Folds { get; }

    /// <summary>The options every fold was trained with.</summary>
    public IntentTrainingOptions Options { get; }

    /// <summary>Wall-clock time of the whole run.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Malicious examples over all folds.</summary>
    public int Malicious => Folds.Sum(f => f.Evaluation.Malicious);

    /// <summary>Malicious examples flagged at the threshold, over all folds.</summary>
    public int MaliciousFlagged => Folds.Sum(f => f.Evaluation.MaliciousFlagged);

    /// <summary>Benign examples over all folds.</summary>
    public int Benign => Folds.Sum(f => f.Evaluation.Benign);

    /// <summary>Benign examples flagged at the threshold (false positives), over all folds.</summary>
    public int BenignFlagged => Folds.Sum(f => f.Evaluation.BenignFlagged);

    /// <summary>Pooled malicious-vs-benign recall: <see cref="MaliciousFlagged"/> / <see cref="Malicious"/>.</summary>
    public double PooledRecall => Malicious == 0 ? 1 : (double)MaliciousFlagged / Malicious;

    /// <summary>Pooled benign false-positive rate: <see cref="BenignFlagged"/> / <see cref="Benign"/>.</summary>
    public double PooledFalsePositiveRate => Benign == 0 ? 0 : (double)BenignFlagged / Benign;

    /// <summary>
    /// Pooled recall and false positives if every fold's model carried <paramref name="temperature"/> instead of its own
    /// (computed from the stored logits in double precision; a borderline example can differ from the shipped float path).
    /// </summary>
    public (int MaliciousFlagged, int BenignFlagged) PooledAt(double temperature, double threshold) =>
        PooledWithBenignOffset(offset: 0, threshold, temperature);

    /// <summary>
    /// A threshold-free ranking figure: the pooled recall at the lowest threshold whose pooled benign false-positive rate is
    /// at most <paramref name="maxFalsePositiveRate"/>, each fold's model with its own temperature (double precision), and that threshold.
    /// </summary>
    public (double Recall, double Threshold) RecallAtFalsePositiveRate(double maxFalsePositiveRate)
    {
        var scored = Folds.SelectMany(f => f.Scores.Select(s => (s.Malicious, P: MaliciousProbability(s.Logits, f.Temperature))))
            .OrderByDescending(s => s.P).ToArray();
        int malicious = scored.Count(s => s.Malicious), benign = scored.Length - malicious;
        int flaggedMalicious = 0, flaggedBenign = 0;
        var best = (Recall: 0.0, Threshold: 1.0);
        for (var i = 0; i < scored.Length; i++)
        {
            if (scored[i].Malicious)
            {
                flaggedMalicious++;
            }
            else
            {
                flaggedBenign++;
            }

            // Only a cut between distinct scores is a threshold.
            if ((i + 1 == scored.Length || scored[i + 1].P < scored[i].P) && flaggedBenign <= maxFalsePositiveRate * benign)
            {
                best = ((double)flaggedMalicious / Math.Max(1, malicious), scored[i].P);
            }
        }

        return best;
    }

    /// <summary>
    /// Pooled recall and false positives at <paramref name="threshold"/> if <paramref name="offset"/> more were added to every
    /// fold model's benign logit (each with its own temperature; double precision): what <see cref="IntentTrainingOptions.BenignLogitOffset"/> would do.
    /// </summary>
    /// <param name="offset">The further benign logit offset.</param>
    /// <param name="threshold">The decision threshold.</param>
    /// <param name="temperature">A temperature for every fold instead of each fold's own; <see langword="null"/> for the folds' own.</param>
    public (int MaliciousFlagged, int BenignFlagged) PooledWithBenignOffset(double offset, double threshold, double? temperature = null)
    {
        int malicious = 0, benign = 0;
        foreach (var fold in Folds)
        {
            foreach (var (isMalicious, logits) in fold.Scores)
            {
                if (MaliciousProbability(logits, temperature ?? fold.Temperature, offset) >= threshold)
                {
                    malicious += isMalicious ? 1 : 0;
                    benign += isMalicious ? 0 : 1;
                }
            }
        }

        return (malicious, benign);
    }

    /// <summary>
    /// The temperature on the grid 0.05, 0.06, ..., 3.00 that minimizes the pooled malicious-vs-benign log loss of the
    /// left-out files' logits: a binary temperature fitted on out-of-author predictions instead of a random split.
    /// </summary>
    public double OutOfAuthorTemperature()
    {
        var scores = Folds.SelectMany(f => f.Scores).ToArray();
        var best = 1.0;
        var bestLoss = double.PositiveInfinity;
        for (var step = 5; step <= 300; step++)
        {
            var loss = 0.0;
            foreach (var (isMalicious, logits) in scores)
            {
                var p = MaliciousProbability(logits, step / 100.0);
                loss -= Math.Log(Math.Max(isMalicious ? p : 1 - p, 1e-12));
            }

            if (loss < bestLoss)
            {
                bestLoss = loss;
                best = step / 100.0;
            }
        }

        return best;
    }

    private static double MaliciousProbability(double[] logits, double temperature, double benignOffset = 0)
    {
        var max = logits.Max() + Math.Max(0, benignOffset);
        var sum = 0.0;
        var benignMass = 0.0;
        for (var c = 0; c < logits.Length; c++)
        {
            var e = Math.Exp((logits[c] + (c == (int)IntentClass.Benign ? benignOffset : 0) - max) / temperature);
            sum += e;
            benignMass += c == (int)IntentClass.Benign ? e : 0;
        }

        return 1 - (benignMass / sum);
    }

    /// <summary>A Markdown report: the options, the per-fold and pooled table, and a temperature and threshold sweep.</summary>
    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var threshold = Options.Threshold;
        var text = new StringBuilder();
        text.AppendLine(inv, $"leave-one-author-out cross-validation ({IntentCrossValidation.Describe(Options)}), threshold {threshold:0.00}, {Elapsed.TotalSeconds:0} s");
        text.AppendLine();
        text.AppendLine("| left-out file | benign | malicious | recall | benign FP | T | train lines | s |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var fold in Folds)
        {
            var e = fold.Evaluation;
            text.AppendLine(inv, $"| {fold.File} | {e.Benign} | {e.Malicious} | {e.MaliciousRecall:0.000} ({e.MaliciousFlagged}/{e.Malicious}) | {e.BenignFalsePositiveRate:0.000} ({e.BenignFlagged}/{e.Benign}) | {fold.Temperature:0.00} | {fold.TrainingExamples} | {fold.Elapsed.TotalSeconds:0} |");
        }

        text.AppendLine(inv, $"| **pooled** | {Benign} | {Malicious} | **{PooledRecall:0.000}** ({MaliciousFlagged}/{Malicious}) | **{PooledFalsePositiveRate:0.000}** ({BenignFlagged}/{Benign}) | | | |");
        text.AppendLine(inv, $"mean of folds: recall {Folds.Average(f => f.Evaluation.MaliciousRecall):0.000}, benign FP {Folds.Average(f => f.Evaluation.BenignFalsePositiveRate):0.000}");

        if (Folds.All(f => f.Scores.Count > 0))
        {
            foreach (var rate in new[] { 0.05, 0.10 })
            {
                var (recall, at) = RecallAtFalsePositiveRate(rate);
                text.AppendLine(inv, $"pooled recall at benign FP <= {rate:0.00} (each fold's own T): {recall:0.000} (threshold {at:0.000})");
            }

            var fitted = OutOfAuthorTemperature();
            text.AppendLine(inv, $"binary temperature fitted on the left-out files' logits: {fitted:0.00}");
            text.AppendLine();
            text.AppendLine(inv, $"pooled recall / benign FP at {threshold:0.00} with a further benign logit offset:");
            text.AppendLine();
            text.AppendLine(inv, $"| offset | each fold's own T | T = {fitted:0.00} (fitted above) |");
            text.AppendLine("|---:|---:|---:|");
            for (var offset = 0.0; offset <= 4.0001; offset += 0.25)
            {
                var (m, b) = PooledWithBenignOffset(offset, threshold);
                var (mf, bf) = PooledWithBenignOffset(offset, threshold, fitted);
                text.AppendLine(inv, $"| {offset:0.00} | {(double)m / Math.Max(1, Malicious):0.000} / {(double)b / Math.Max(1, Benign):0.000} ({b}/{Benign}) | {(double)mf / Math.Max(1, Malicious):0.000} / {(double)bf / Math.Max(1, Benign):0.000} ({bf}/{Benign}) |");
            }

            double[] thresholds = [0.5, 0.6, 0.7, 0.8, 0.9];
            text.AppendLine();
            text.AppendLine("pooled recall / benign FP if every fold's model carried temperature T (double precision):");
            text.AppendLine();
            text.AppendLine("| T | " + string.Join(" | ", thresholds.Select(t => t.ToString("0.0", inv))) + " |");
            text.AppendLine("|---:|" + string.Concat(thresholds.Select(_ => "---:|")));
            foreach (var temperature in new[] { 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0 })
            {
                var cells = thresholds.Select(t =>
                {
                    var (m, b) = PooledAt(temperature, t);
                    return string.Create(inv, $"{(double)m / Math.Max(1, Malicious):0.000} / {(double)b / Math.Max(1, Benign):0.000}");
                });
                text.AppendLine(inv, $"| {temperature:0.00} | {string.Join(" | ", cells)} |");
            }
        }

        return text.ToString();
    }
}

/// <summary>
/// Leave-one-author-out cross-validation of the trainer settings on the training files only (what
/// <c>aim intent cv</c> runs): for each hand-written training file, train on all the other training files
/// and measure malicious-vs-benign recall and benign false positives on the left-out file at the decision
/// threshold. Each file has its own author, so a fold imitates a held-out set written by someone the model
/// has not read. The templated file is never left out (it is one author's templates, not a test of
/// generalization). Deterministic: each fold is a seeded single-threaded training; folds may run in parallel.
/// </summary>
public static class IntentCrossValidation
{
    /// <summary>Runs the folds over the training files of a data directory (<c>train*.jsonl</c>; <c>heldout*.jsonl</c> are not read).</summary>
    /// <param name="dataDirectory">For example <c>data/intent</c>.</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults (the shipped settings).</param>
    /// <param name="parallelism">How many folds train at once (1 or more).</param>
    /// <param name="log">Receives one line per finished fold; may be <see langword="null"/>.</param>
    /// <exception cref="IntentModelException">No training file, fewer than two files, no hand-written file, or an invalid line (<c>intent_corpus_invalid</c>).</exception>
    /// <exception cref="IOException">The directory cannot be read.</exception>
    public static IntentCrossValidationReport Run(string dataDirectory, IntentTrainingOptions? options = null, int parallelism = 1, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        if (!Directory.Exists(dataDirectory))
        {
            throw new DirectoryNotFoundException($"Data directory '{dataDirectory}' does not exist.");
        }

        return Run(IntentTrainingSet.ReadFiles(dataDirectory), options, parallelism, log);
    }

    /// <summary>Runs the folds over the given training files (see the type's remarks).</summary>
    /// <exception cref="IntentModelException">Fewer than two files or no hand-written file (<c>intent_corpus_invalid</c>).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parallelism"/> is below 1.</exception>
    /// <exception cref="ArgumentException">The options are out of range.</exception>
    public static IntentCrossValidationReport Run(IReadOnlyList<IntentCorpusFile> files, IntentTrainingOptions? options = null, int parallelism = 1, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        options ??= new IntentTrainingOptions();
        var folds = FoldFiles(files);
        if (files.Count < 2 || folds.Count == 0)
        {
            throw IntentModelException.Corpus("Leave-one-author-out needs at least two training files, one of them hand-written.");
        }

        var clock = Stopwatch.StartNew();
        var results = new IntentFold[folds.Count];
        var gate = new object();
        Parallel.For(0, folds.Count, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, i =>
        {
            results[i] = RunFold(files, folds[i], options);
            lock (gate)
            {
                var e = results[i].Evaluation;
                log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fold {folds[i].Name}: recall {e.MaliciousRecall:0.000} ({e.MaliciousFlagged}/{e.Malicious}), benign FP {e.BenignFalsePositiveRate:0.000} ({e.BenignFlagged}/{e.Benign}), T {results[i].Temperature:0.00}, {results[i].Elapsed.TotalSeconds:0} s"));
            }
        });

        return new IntentCrossValidationReport(results, options, clock.Elapsed);
    }

    /// <summary>The files that become folds: every hand-written (not templated) file, in the given order.</summary>
    public static IReadOnlyList<IntentCorpusFile> FoldFiles(IReadOnlyList<IntentCorpusFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        return files.Where(f => !f.IsTemplated).ToArray();
    }

    /// <summary>Trains on every file except <paramref name="leftOut"/> and evaluates on it.</summary>
    /// <exception cref="ArgumentException">The options are out of range, or nothing is left to train on.</exception>
    public static IntentFold RunFold(IReadOnlyList<IntentCorpusFile> files, IntentCorpusFile leftOut, IntentTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(leftOut);
        ArgumentNullException.ThrowIfNull(options);
        var training = IntentTrainingSet.Build(files.Where(f => !ReferenceEquals(f, leftOut) && f.Name != leftOut.Name), options);
        var clock = Stopwatch.StartNew();
        var model = IntentTrainer.Train(training, options);
        var elapsed = clock.Elapsed;
        var classifier = new IntentClassifier(model);
        var evaluation = IntentEvaluation.Evaluate(classifier, leftOut.Examples, options.Threshold);
        var scores = leftOut.Examples.Select(e => (e.Label != IntentClass.Benign, IntentTrainer.RawLogits(model, e.Text))).ToArray();
        var probabilities = leftOut.Examples.Select(e => classifier.Predict(e.Text).MaliciousProbability).ToArray();
        return new IntentFold(leftOut.Name, training.Count, model.Temperature, evaluation, elapsed) { Scores = scores, MaliciousProbabilities = probabilities };
    }

    /// <summary>The options as one line (for logs and reports).</summary>
    public static string Describe(IntentTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var temperature = options.FixedTemperature is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"fixed temperature {t:0.00}")
            : options.CalibrationFraction > 0
                ? string.Create(CultureInfo.InvariantCulture, $"temperature fitted on a {options.CalibrationFraction:0.00} split, {options.CalibrationTarget} loss")
                : "temperature 1";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"seed {options.Seed}, {options.Epochs} epochs, lr {options.LearningRate:0.###}, dim {options.Dimension}, 2^{options.BucketBits} buckets, char {options.MinN}-{options.MaxN}-grams, word weight {options.WordWeight}, evidence prior {options.EvidencePrior}, hand-written weight {options.HandWrittenWeight}, benign weight {options.BenignWeight}, templated fraction {options.TemplatedFraction:0.###}, {temperature}, benign logit offset {options.BenignLogitOffset:0.##}");
    }
}
