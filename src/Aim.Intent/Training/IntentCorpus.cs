using System.Text.Json;

namespace Aim.Intent.Training;

/// <summary>
/// Reads the JSON-lines corpus: one object per line with string fields <c>capability</c>,
/// <c>resource</c>, <c>input</c> and <c>label</c> (an <see cref="IntentLabels"/> name). Blank lines are skipped.
/// </summary>
public static class IntentCorpus
{
    /// <summary>The held-out evaluation file inside a data directory.</summary>
    public const string HeldOutFileName = "heldout.jsonl";

    /// <summary>Held-out files inside a data directory: every <c>heldout*.jsonl</c>; never read for training.</summary>
    public const string HeldOutFilePattern = "heldout*.jsonl";

    /// <summary>Training files inside a data directory: every <c>train*.jsonl</c>, read in ordinal name order.</summary>
    public const string TrainingFilePattern = "train*.jsonl";

    /// <summary>Reads one corpus file.</summary>
    /// <exception cref="IntentModelException">A line is not a valid example (<c>intent_corpus_invalid</c>, with file and line).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<IntentExample> ReadFile(string path)
    {
        var examples = new List<IntentExample>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            examples.Add(ParseLine(line, $"{Path.GetFileName(path)}:{number}"));
        }

        return examples;
    }

    /// <summary>Training files whose name starts with this were combined from templates by a generator (<c>tools/generate_train.py</c>); every other training file was written line by line.</summary>
    public const string TemplatedFilePrefix = "train-generated";

    /// <summary>Reads the training files of a data directory (see <see cref="TrainingFilePattern"/>), every example with weight 1.</summary>
    /// <exception cref="IntentModelException">No training file, or an invalid line.</exception>
    /// <exception cref="IOException">The directory cannot be read.</exception>
    public static IReadOnlyList<IntentExample> ReadTraining(string directory) => ReadTraining(directory, handWrittenWeight: 1);

    /// <summary>
    /// Reads the training files of a data directory; examples from files not named <see cref="TemplatedFilePrefix"/>*
    /// (written line by line) get <see cref="IntentExample.Weight"/> = <paramref name="handWrittenWeight"/>, templated ones 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="handWrittenWeight"/> is outside 1..<see cref="IntentExample.MaxWeight"/>.</exception>
    /// <exception cref="IntentModelException">No training file, or an invalid line.</exception>
    /// <exception cref="IOException">The directory cannot be read.</exception>
    public static IReadOnlyList<IntentExample> ReadTraining(string directory, int handWrittenWeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(handWrittenWeight, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(handWrittenWeight, IntentExample.MaxWeight);
        return IntentTrainingSet.Build(IntentTrainingSet.ReadFiles(directory), new IntentTrainingOptions { HandWrittenWeight = handWrittenWeight });
    }

    /// <summary>The held-out files of a data directory (see <see cref="HeldOutFilePattern"/>), in ordinal name order.</summary>
    /// <exception cref="IOException">The directory cannot be read.</exception>
    public static IReadOnlyList<string> HeldOutFiles(string directory) =>
        FilesInOrder(directory, HeldOutFilePattern);

    // The files of a directory matching a pattern, in ordinal file-name order (the order training and reports use).
    internal static string[] FilesInOrder(string directory, string pattern)
    {
        var files = Directory.GetFiles(directory, pattern);
        Array.Sort(files, (a, b) => string.CompareOrdinal(Path.GetFileName(a), Path.GetFileName(b)));
        return files;
    }

    /// <summary>Reads the held-out file of a data directory.</summary>
    /// <exception cref="IntentModelException">An invalid line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<IntentExample> ReadHeldOut(string directory) => ReadFile(Path.Combine(directory, HeldOutFileName));

    /// <summary>Parses one line.</summary>
    /// <param name="line">The JSON object.</param>
    /// <param name="where">Where the line came from, for the error message.</param>
    /// <exception cref="IntentModelException">The line is not a valid example.</exception>
    public static IntentExample ParseLine(string line, string where = "line")
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw IntentModelException.Corpus($"{where}: expected a JSON object.");
            }

            var label = Field(root, "label", where);
            if (!IntentLabels.TryParse(label, out var intent))
            {
                throw IntentModelException.Corpus($"{where}: unknown label '{label}'.");
            }

            return new IntentExample(Field(root, "capability", where), Field(root, "resource", where), Field(root, "input", where), intent);
        }
        catch (JsonException e)
        {
            throw IntentModelException.Corpus($"{where}: not valid JSON ({e.Message}).", e);
        }
    }

    private static string Field(JsonElement root, string name, string where)
        => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw IntentModelException.Corpus($"{where}: missing string field '{name}'.");
}
