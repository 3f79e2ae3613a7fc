using System.Diagnostics;
using System.Globalization;
using Aim.Intent.Check;
using Aim.Intent.Training;

namespace Aim.Intent.Onnx.Training;

/// <summary>One example's scores from the second-stage training run.</summary>
/// <param name="Group">Its file.</param>
/// <param name="Malicious">Whether it is an attack.</param>
/// <param name="FirstStage">The first stage's malicious probability (out of fold for training files).</param>
/// <param name="HeadLogit">The head's log-odds (out of fold for training files).</param>
/// <param name="Stacked">The stacked probability (the stacker fitted without this example's file).</param>
public sealed record SecondStageScore(string Group, bool Malicious, float FirstStage, float HeadLogit, float Stacked);

/// <summary>The outcome of <see cref="SecondStageTraining.Run"/>.</summary>
public sealed class SecondStageReport
{
    internal SecondStageReport(IntentHead head, IReadOnlyList<SecondStageScore> folds, IReadOnlyList<SecondStageScore> heldOut, TimeSpan elapsed)
    {
        Head = head;
        Folds = folds;
        HeldOut = heldOut;
        Elapsed = elapsed;
    }

    /// <summary>The head trained on every training line, with the stacker fitted on every fold's out-of-fold scores.</summary>
    public IntentHead Head { get; private set; }

    /// <summary>Out-of-fold scores of every hand-written training line (leave-one-author-out).</summary>
    public IReadOnlyList<SecondStageScore> Folds { get; }

    /// <summary>Scores of every held-out line by the final first-stage model and the final head (never used for fitting).</summary>
    public IReadOnlyList<SecondStageScore> HeldOut { get; }

    /// <summary>Wall-clock time.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Scores as the step would decide on them: the first stage's alone.</summary>
    public static IReadOnlyList<IntentScoredExample> FirstStageOnly(IReadOnlyList<SecondStageScore> scores) =>
        scores.Select(s => new IntentScoredExample(s.Group, s.Malicious, s.FirstStage)).ToArray();

    /// <summary>Scores as the step would decide on them with the second stage consulted in the band (inclusive).</summary>
    public static IReadOnlyList<IntentScoredExample> Cascade(IReadOnlyList<SecondStageScore> scores, float from, float to) =>
        scores.Select(s => s.FirstStage >= from && s.FirstStage <= to
            ? new IntentScoredExample(s.Group, s.Malicious, s.Stacked, SecondStage: true)
            : new IntentScoredExample(s.Group, s.Malicious, s.FirstStage)).ToArray();

    /// <summary>
    /// The band of first-stage scores that holds 98% of the out-of-fold lines on which full stacking decides otherwise than the
    /// first stage (first-stage scores under <paramref name="firstStage"/>, stacked scores under <paramref name="secondStage"/>):
    /// from their 1st to their 99th percentile, rounded outward to 0.01 (a single outlier does not widen it to everything).
    /// </summary>
    public (float From, float To) BandFor(IntentThresholds firstStage, IntentThresholds secondStage)
    {
        ArgumentNullException.ThrowIfNull(firstStage);
        ArgumentNullException.ThrowIfNull(secondStage);
        var changed = Folds.Where(s => firstStage.Decide(s.FirstStage) != secondStage.Decide(s.Stacked)).Select(s => s.FirstStage).Order().ToArray();
        if (changed.Length == 0)
        {
            return (1f, 1f);
        }

        var low = changed[(int)Math.Floor(0.01 * (changed.Length - 1))];
        var high = changed[(int)Math.Ceiling(0.99 * (changed.Length - 1))];
        return ((float)(Math.Floor(low * 100) / 100), (float)Math.Min(1, Math.Ceiling(high * 100) / 100));
    }

    /// <summary>The same head with another band.</summary>
    public void SetBand(float from, float to) =>
        Head = new IntentHead(Head.EmbeddingModelSha256, Head.Weights, Head.Bias, Head.HeadWeight, Head.FirstStageWeight, Head.StackBias, from, to);
}

/// <summary>
/// Trains the second stage on the intent corpus (what <c>aim intent train --second-stage-out</c> runs): embeds every line with
/// the sentence-embedding model, trains a logistic head on the embeddings, and fits a 2-weight stacker on out-of-author
/// scores: for every hand-written training file F, a first-stage model and a head are trained on the other files and score F
/// (the same leave-one-author-out folds as <c>aim intent cv</c>), and the stacker learns how to weigh the two log-odds for an
/// author neither has read. Held-out files are scored at the end by the final models, never fitted on.
/// </summary>
public static class SecondStageTraining
{
    /// <summary>The L2 penalty of the head (on the sum of the log loss over the training lines).</summary>
    public const double DefaultHeadPenalty = 1.0;

    /// <summary>Runs the training.</summary>
    /// <param name="dataDirectory">The corpus (<c>train*.jsonl</c>, <c>heldout*.jsonl</c>).</param>
    /// <param name="files">The embedding model.</param>
    /// <param name="embedder">The loaded embedding model.</param>
    /// <param name="firstStage">The final first-stage model (scores the held-out files).</param>
    /// <param name="options">The first stage's training options (for the folds).</param>
    /// <param name="cachePath">Where embeddings are cached between runs; <see langword="null"/> for no cache.</param>
    /// <param name="parallelism">How many folds or embeddings run at once.</param>
    /// <param name="log">Progress lines; may be <see langword="null"/>.</param>
    /// <param name="headPenalty">The head's L2 penalty.</param>
    /// <exception cref="IntentModelException">The corpus or a model is invalid.</exception>
    public static SecondStageReport Run(
        string dataDirectory,
        EmbeddingModelFiles files,
        SentenceEmbedder embedder,
        IntentModel firstStage,
        IntentTrainingOptions options,
        string? cachePath,
        int parallelism,
        TextWriter? log,
        double headPenalty = DefaultHeadPenalty)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(embedder);
        ArgumentNullException.ThrowIfNull(firstStage);
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var corpus = IntentTrainingSet.ReadFiles(dataDirectory);
        var heldOutFiles = IntentCorpus.HeldOutFiles(dataDirectory).Select(p => new IntentCorpusFile(Path.GetFileName(p), IntentCorpus.ReadFile(p))).ToArray();

        // 1. Embeddings of every line (cached: the slow part).
        var cache = new EmbeddingCache(cachePath, embedder.Dimension);
        var texts = corpus.Concat(heldOutFiles).SelectMany(f => f.Examples).Select(e => e.Text).Distinct().ToArray();
        var missing = texts.Where(t => !cache.TryGet(t, out _)).ToArray();
        log?.WriteLine($"embeddings: {texts.Length} texts, {missing.Length} to compute ({cache.Count} cached)");
        var done = 0;
        Parallel.ForEach(missing, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, text =>
        {
            cache.Add(text, embedder.Embed(text));
            var n = Interlocked.Increment(ref done);
            if (n % 1000 == 0)
            {
                log?.WriteLine($"embeddings: {n}/{missing.Length} ({clock.Elapsed.TotalSeconds:0} s)");
            }
        });
        cache.Save();
        double[] Embedding(IntentExample e) => cache.TryGet(e.Text, out var v) ? Array.ConvertAll(v, f => (double)f) : throw new InvalidOperationException("embedding missing");

        // 2. Out-of-fold first-stage scores (the cross-validation's folds) and out-of-fold head scores.
        log?.WriteLine("first stage: leave-one-author-out folds");
        var cv = IntentCrossValidation.Run(corpus, options, parallelism, log);
        var folds = IntentCrossValidation.FoldFiles(corpus);
        var outOfFold = new List<(string Group, bool Malicious, float FirstStage, float HeadLogit)>();
        for (var f = 0; f < folds.Count; f++)
        {
            var leftOut = folds[f];
            var training = corpus.Where(c => c.Name != leftOut.Name).SelectMany(c => c.Examples).ToArray();
            var (weights, bias) = LogisticRegression.Fit(training.Select(Embedding).ToArray(), training.Select(e => e.Label != IntentClass.Benign).ToArray(), headPenalty);
            var fold = cv.Folds.Single(x => x.File == leftOut.Name);
            for (var i = 0; i < leftOut.Examples.Count; i++)
            {
                var example = leftOut.Examples[i];
                var logit = Dot(weights, Embedding(example)) + bias;
                outOfFold.Add((leftOut.Name, example.Label != IntentClass.Benign, fold.MaliciousProbabilities[i], (float)logit));
            }

            log?.WriteLine($"head fold {leftOut.Name}: trained on {training.Length} lines ({clock.Elapsed.TotalSeconds:0} s)");
        }

        // 3. The stacker: on every fold but F for F's stacked scores (honest), on all folds for the shipped head.
        var scores = new List<SecondStageScore>();
        foreach (var fold in folds)
        {
            var stacker = FitStacker(outOfFold.Where(o => o.Group != fold.Name).ToArray());
            scores.AddRange(outOfFold.Where(o => o.Group == fold.Name).Select(o => new SecondStageScore(o.Group, o.Malicious, o.FirstStage, o.HeadLogit, Stack(stacker, o.HeadLogit, o.FirstStage))));
        }

        var final = FitStacker(outOfFold.ToArray());
        var all = corpus.SelectMany(c => c.Examples).ToArray();
        var (headWeights, headBias) = LogisticRegression.Fit(all.Select(Embedding).ToArray(), all.Select(e => e.Label != IntentClass.Benign).ToArray(), headPenalty);
        var head = new IntentHead(Convert.FromHexString(files.Sha256), Array.ConvertAll(headWeights, w => (float)w), (float)headBias,
            (float)final.Head, (float)final.First, (float)final.Bias, 0f, 1f);
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stacker: {final.Head:0.000} x head log-odds + {final.First:0.000} x first-stage log-odds + {final.Bias:0.000}"));

        // 4. Held-out files: the final models score them once; nothing is fitted on them.
        var classifier = new IntentClassifier(firstStage);
        var heldOut = new List<SecondStageScore>();
        foreach (var file in heldOutFiles)
        {
            foreach (var example in file.Examples)
            {
                var p1 = classifier.Predict(example.Text).MaliciousProbability;
                var logit = head.HeadLogit(Array.ConvertAll(Embedding(example), d => (float)d));
                heldOut.Add(new SecondStageScore(file.Name, example.Label != IntentClass.Benign, p1, logit, head.Stack(logit, p1)));
            }
        }

        return new SecondStageReport(head, scores, heldOut, clock.Elapsed);
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static (double Head, double First, double Bias) FitStacker((string Group, bool Malicious, float FirstStage, float HeadLogit)[] rows)
    {
        var x = rows.Select(r => new double[] { r.HeadLogit, IntentHead.Logit(r.FirstStage) }).ToArray();
        var (w, b) = LogisticRegression.Fit(x, rows.Select(r => r.Malicious).ToArray(), lambda: 1e-3);
        return (w[0], w[1], b);
    }

    private static float Stack((double Head, double First, double Bias) s, float headLogit, float firstStage) =>
        (float)LogisticRegression.Sigmoid((s.Head * headLogit) + (s.First * IntentHead.Logit(firstStage)) + s.Bias);
}
