namespace Aim.Intent.Training;

/// <summary>One training file of a corpus: its name (which says whether it was templated) and its lines.</summary>
/// <param name="Name">The file name, for example <c>train-authored-b.jsonl</c>.</param>
/// <param name="Examples">Its examples, in file order, every weight 1.</param>
public sealed record IntentCorpusFile(string Name, IReadOnlyList<IntentExample> Examples)
{
    /// <summary>Whether the file was combined from templates (<see cref="IntentCorpus.TemplatedFilePrefix"/>*) rather than written line by line.</summary>
    public bool IsTemplated => Name.StartsWith(IntentCorpus.TemplatedFilePrefix, StringComparison.Ordinal);
}

/// <summary>
/// Turns corpus files into the trainer's example list as the options say: sample weights for hand-written
/// and benign lines (<see cref="IntentTrainingOptions.HandWrittenWeight"/>, <see cref="IntentTrainingOptions.BenignWeight"/>)
/// and a seeded per-class subsample of the templated lines (<see cref="IntentTrainingOptions.TemplatedFraction"/>).
/// With the defaults every line is kept once, in file order.
/// </summary>
public static class IntentTrainingSet
{
    /// <summary>Reads every <c>train*.jsonl</c> of a directory, in ordinal name order.</summary>
    /// <exception cref="IntentModelException">No training file, or an invalid line (<c>intent_corpus_invalid</c>).</exception>
    /// <exception cref="IOException">The directory cannot be read.</exception>
    public static IReadOnlyList<IntentCorpusFile> ReadFiles(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var files = IntentCorpus.FilesInOrder(directory, IntentCorpus.TrainingFilePattern);
        if (files.Length == 0)
        {
            throw IntentModelException.Corpus($"No {IntentCorpus.TrainingFilePattern} file in '{directory}'.");
        }

        return files.Select(path => new IntentCorpusFile(Path.GetFileName(path), IntentCorpus.ReadFile(path))).ToArray();
    }

    /// <summary>The examples the trainer sees for <paramref name="files"/> under <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">A weight or the templated fraction is out of range.</exception>
    public static IReadOnlyList<IntentExample> Build(IEnumerable<IntentCorpusFile> files, IntentTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(options);
        if (options.HandWrittenWeight is < 1 or > IntentExample.MaxWeight || options.BenignWeight is < 1 or > IntentExample.MaxWeight
            || !(options.TemplatedFraction is > 0 and <= 1))
        {
            throw new ArgumentException("Sample weights are 1 to 16 and the templated fraction is in (0, 1].", nameof(options));
        }

        var result = new List<IntentExample>();
        foreach (var file in files)
        {
            var examples = file.IsTemplated ? Subsample(file.Examples, options) : file.Examples;
            var fileWeight = file.IsTemplated ? 1 : options.HandWrittenWeight;
            foreach (var example in examples)
            {
                var weight = Math.Min(IntentExample.MaxWeight, fileWeight * (example.Label == IntentClass.Benign ? options.BenignWeight : 1));
                result.Add(weight == example.Weight ? example : example with { Weight = weight });
            }
        }

        return result;
    }

    // The first round(fraction * n) lines of each class in a seeded shuffle, kept in file order.
    private static IReadOnlyList<IntentExample> Subsample(IReadOnlyList<IntentExample> examples, IntentTrainingOptions options)
    {
        if (options.TemplatedFraction >= 1)
        {
            return examples;
        }

        var order = Enumerable.Range(0, examples.Count).ToArray();
        IntentTrainer.Shuffle(order, new IntentTrainer.SplitMix64(options.Seed ^ 0x7E3A_1A7E_D5AB_0001UL));
        var perClass = new int[IntentLabels.Count];
        foreach (var example in examples)
        {
            perClass[(int)example.Label]++;
        }

        var taken = new int[IntentLabels.Count];
        var keep = new bool[examples.Count];
        foreach (var index in order)
        {
            var label = (int)examples[index].Label;
            if (taken[label] < (int)Math.Round(perClass[label] * options.TemplatedFraction))
            {
                taken[label]++;
                keep[index] = true;
            }
        }

        return examples.Where((_, i) => keep[i]).ToArray();
    }
}
