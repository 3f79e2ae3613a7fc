using System.Diagnostics;

namespace Aim.Intent.Training;

/// <summary>The outcome of <see cref="IntentTrainingRun.FromDirectory"/>.</summary>
/// <param name="Model">The trained model.</param>
/// <param name="TrainingExamples">How many examples it was trained on.</param>
/// <param name="HeldOut">The evaluation on <c>heldout.jsonl</c>, or <see langword="null"/> when the directory has none.</param>
/// <param name="Elapsed">Training time (featurization included, evaluation excluded).</param>
public sealed record IntentTrainingReport(IntentModel Model, int TrainingExamples, IntentEvaluation? HeldOut, TimeSpan Elapsed)
{
    /// <summary>
    /// One evaluation per held-out file of the directory (<c>heldout*.jsonl</c>: <c>heldout.jsonl</c>,
    /// <c>heldout-2.jsonl</c>, ...), keyed by file name in ordinal order; each set is reported on its own, never pooled.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, IntentEvaluation>> HeldOutSets { get; init; } = [];
}

/// <summary>What <c>aim intent train</c> runs: train on a data directory's training files, evaluate on its held-out file.</summary>
public static class IntentTrainingRun
{
    /// <summary>Trains on <c>train*.jsonl</c> in <paramref name="dataDirectory"/> and evaluates on each <c>heldout*.jsonl</c> present.</summary>
    /// <param name="dataDirectory">For example <c>data/intent</c>.</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults (the shipped model).</param>
    /// <param name="log">Receives progress lines; may be <see langword="null"/>.</param>
    /// <exception cref="IntentModelException">No training file or an invalid corpus line (<c>intent_corpus_invalid</c>).</exception>
    /// <exception cref="IOException">The directory cannot be read.</exception>
    public static IntentTrainingReport FromDirectory(string dataDirectory, IntentTrainingOptions? options = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        if (!Directory.Exists(dataDirectory))
        {
            throw new DirectoryNotFoundException($"Data directory '{dataDirectory}' does not exist.");
        }

        options ??= new IntentTrainingOptions();
        var training = IntentTrainingSet.Build(IntentTrainingSet.ReadFiles(dataDirectory), options);
        log?.WriteLine($"training on {training.Count} examples ({IntentCrossValidation.Describe(options)})");
        var clock = Stopwatch.StartNew();
        var model = IntentTrainer.Train(training, options, log);
        var elapsed = clock.Elapsed;
        log?.WriteLine($"trained in {elapsed.TotalSeconds:0.0} s");

        // Held-out files only ever measure: the trainer reads them after the model is final.
        var classifier = new IntentClassifier(model);
        var sets = IntentCorpus.HeldOutFiles(dataDirectory)
            .Select(path => KeyValuePair.Create(Path.GetFileName(path), IntentEvaluation.Evaluate(classifier, IntentCorpus.ReadFile(path), options.Threshold)))
            .ToArray();
        var heldOut = sets.FirstOrDefault(s => s.Key == IntentCorpus.HeldOutFileName).Value;
        return new IntentTrainingReport(model, training.Count, heldOut, elapsed) { HeldOutSets = sets };
    }
}
