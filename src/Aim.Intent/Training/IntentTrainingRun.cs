using System.Diagnostics;

namespace Aim.Intent.Training;

/// <summary>The outcome of <see cref="IntentTrainingRun.FromDirectory"/>.</summary>
/// <param name="Model">The trained model.</param>
/// <param name="TrainingExamples">How many examples it was trained on.</param>
/// <param name="HeldOut">The evaluation on the held-out file, or <see langword="null"/> when the directory has none.</param>
/// <param name="Elapsed">Training time (featurization included, evaluation excluded).</param>
public sealed record IntentTrainingReport(IntentModel Model, int TrainingExamples, IntentEvaluation? HeldOut, TimeSpan Elapsed);

/// <summary>What <c>aim intent train</c> runs: train on a data directory's training files, evaluate on its held-out file.</summary>
public static class IntentTrainingRun
{
    /// <summary>Trains on <c>train*.jsonl</c> in <paramref name="dataDirectory"/> and evaluates on <c>heldout.jsonl</c> when present.</summary>
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
        var training = IntentCorpus.ReadTraining(dataDirectory);
        log?.WriteLine($"training on {training.Count} examples (seed {options.Seed}, {options.Epochs} epochs, dim {options.Dimension}, 2^{options.BucketBits} buckets)");
        var clock = Stopwatch.StartNew();
        var model = IntentTrainer.Train(training, options, log);
        var elapsed = clock.Elapsed;
        log?.WriteLine($"trained in {elapsed.TotalSeconds:0.0} s");

        IntentEvaluation? heldOut = null;
        var heldOutPath = Path.Combine(dataDirectory, IntentCorpus.HeldOutFileName);
        if (File.Exists(heldOutPath))
        {
            heldOut = IntentEvaluation.Evaluate(new IntentClassifier(model), IntentCorpus.ReadFile(heldOutPath), options.Threshold);
        }

        return new IntentTrainingReport(model, training.Count, heldOut, elapsed);
    }
}
