using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Aim.Intent;
using Aim.Intent.Training;

namespace Aim.Cli.Commands;

/// <summary><c>aim intent train|classify</c>: the in-process intent classifier (step 5 of the call path).</summary>
internal static class IntentCommand
{
    // One object per line, quotes and '<' left readable: this is terminal and pipe output, not HTML.
    private static readonly JsonSerializerOptions JsonLines = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Corpus directory with train*.jsonl and heldout*.jsonl.", DefaultValueFactory = _ => "data/intent" };
        var output = new Option<string>("--out") { Description = "Where to write the model (for the shipped one: src/Aim.Intent/Model/intent-model.bin).", Required = true };
        var overrides = new TrainingOverrides();
        var train = new Command("train", "Train the intent model (deterministic) and print per-class precision/recall on each held-out set.") { data, output };
        overrides.AddTo(train);
        train.SetAction(p => Cli.Run(() =>
        {
            var options = overrides.Apply(p, new IntentTrainingOptions());
            var report = IntentTrainingRun.FromDirectory(p.GetValue(data)!, options, Console.Out);
            var path = p.GetValue(output)!;
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            report.Model.Save(path);
            Console.WriteLine($"wrote {path} ({new FileInfo(path).Length} bytes, {report.Model.ParameterCount} parameters, temperature {report.Model.Temperature:0.00})");
            foreach (var (file, evaluation) in report.HeldOutSets)
            {
                Console.WriteLine();
                Console.WriteLine($"held-out evaluation ({file}):");
                Console.Write(evaluation.ToMarkdown());
            }

            return Cli.Ok;
        }));

        var json = new Option<bool>("--json") { Description = "Write one JSON object per line: {label, confidence, malicious_probability, evidence, latency_us}." };
        var model = new Option<string?>("--model") { Description = "Use this model file instead of the embedded one." };
        var input = new Argument<string>("FILE") { Description = "JSON lines {capability, resource, input} (a line not starting with '{' is classified as plain text); '-' or nothing for stdin.", DefaultValueFactory = _ => "-" };
        var classify = new Command("classify", "Classify actions with the intent model.") { json, model, input };
        classify.SetAction(p => Cli.Run(() =>
        {
            var classifier = p.GetValue(model) is { } modelPath ? new IntentClassifier(IntentModel.LoadFile(modelPath)) : IntentClassifier.Default;
            var file = p.GetValue(input)!;
            using var reader = file == "-" ? Console.In : new StreamReader(file);
            var asJson = p.GetValue(json);
            classifier.Classify("warm up: load the model and JIT the path before the first timed line");
            var number = 0;
            while (reader.ReadLine() is { } line)
            {
                number++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                var text = line.TrimStart().StartsWith('{') ? TextOf(line, number) : line;
                var clock = Stopwatch.GetTimestamp();
                var verdict = classifier.Classify(text);
                var micros = Stopwatch.GetElapsedTime(clock).TotalMicroseconds;
                if (asJson)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        label = verdict.LabelName,
                        confidence = Math.Round(verdict.Confidence, 4),
                        malicious_probability = Math.Round(verdict.MaliciousProbability, 4),
                        evidence = verdict.Evidence.Select(e => new { text = e.Text, weight = Math.Round(e.Weight, 4) }),
                        latency_us = Math.Round(micros, 1),
                    }, JsonLines));
                }
                else
                {
                    Console.WriteLine($"{verdict.LabelName,-20} {verdict.Confidence:0.00}  p(malicious) {verdict.MaliciousProbability:0.00}  [{string.Join(" | ", verdict.Evidence.Select(e => e.Text))}]  {micros:0} us");
                }
            }

            return Cli.Ok;
        }));

        var cvData = new Option<string>("--data") { Description = "Corpus directory with train*.jsonl (heldout*.jsonl are not read).", DefaultValueFactory = _ => "data/intent" };
        var threads = new Option<int>("--threads") { Description = "How many folds train at once (each fold is single-threaded and deterministic).", DefaultValueFactory = _ => 2 };
        var cvOverrides = new TrainingOverrides();
        var cv = new Command("cv", "Leave-one-author-out cross-validation on the training files: for each hand-written train*.jsonl, train on the others and report recall and benign false positives on it.") { cvData, threads };
        cvOverrides.AddTo(cv);
        cv.SetAction(p => Cli.Run(() =>
        {
            var options = cvOverrides.Apply(p, new IntentTrainingOptions());
            var report = IntentCrossValidation.Run(p.GetValue(cvData)!, options, Math.Max(1, p.GetValue(threads)), Console.Out);
            Console.WriteLine();
            Console.Write(report.ToMarkdown());
            return Cli.Ok;
        }));

        return new Command("intent", "The in-process intent classifier: train it, cross-validate its settings, or classify actions.") { train, cv, classify };
    }

    // Trainer settings a run may override (experiments and cross-validation; the shipped model uses none).
    private sealed class TrainingOverrides
    {
        private readonly Option<ulong?> seed = new("--seed") { Description = "Training seed (the shipped model uses the default)." };
        private readonly Option<int?> epochs = new("--epochs") { Description = "Passes over the training data." };
        private readonly Option<float?> learningRate = new("--lr") { Description = "Starting learning rate." };
        private readonly Option<int?> dimension = new("--dim") { Description = "Embedding dimension." };
        private readonly Option<int?> bucketBits = new("--bucket-bits") { Description = "log2 of the hashed bucket count." };
        private readonly Option<int?> wordWeight = new("--word-weight") { Description = "Weight of word features relative to a char n-gram (1-8)." };
        private readonly Option<int?> evidencePrior = new("--evidence-prior") { Description = "Zero pseudo-features in the average's denominator (0-4096)." };
        private readonly Option<int?> minN = new("--min-n") { Description = "Shortest char n-gram." };
        private readonly Option<int?> maxN = new("--max-n") { Description = "Longest char n-gram." };
        private readonly Option<int?> handWrittenWeight = new("--hand-written-weight") { Description = "Sample weight of hand-written lines (1-16)." };
        private readonly Option<int?> benignWeight = new("--benign-weight") { Description = "Sample weight of benign lines (1-16)." };
        private readonly Option<double?> templatedFraction = new("--templated-fraction") { Description = "Share of the templated lines kept (0-1]." };
        private readonly Option<string?> calibration = new("--calibration") { Description = "Temperature fit: binary, class or none." };
        private readonly Option<double?> calibrationFraction = new("--calibration-fraction") { Description = "Share of each class held back to fit the temperature." };
        private readonly Option<float?> temperature = new("--temperature") { Description = "A fixed temperature instead of a fitted one." };
        private readonly Option<float?> benignOffset = new("--benign-offset") { Description = "Added to the final model's benign logit (0-16)." };
        private readonly Option<float?> threshold = new("--threshold") { Description = "Decision threshold on the malicious probability for the reported figures." };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { seed, epochs, learningRate, dimension, bucketBits, wordWeight, evidencePrior, minN, maxN, handWrittenWeight, benignWeight, templatedFraction, calibration, calibrationFraction, temperature, benignOffset, threshold })
            {
                command.Options.Add(option);
            }
        }

        public IntentTrainingOptions Apply(ParseResult p, IntentTrainingOptions o)
        {
            o = o with
            {
                Seed = p.GetValue(seed) ?? o.Seed,
                Epochs = p.GetValue(epochs) ?? o.Epochs,
                LearningRate = p.GetValue(learningRate) ?? o.LearningRate,
                Dimension = p.GetValue(dimension) ?? o.Dimension,
                BucketBits = p.GetValue(bucketBits) ?? o.BucketBits,
                WordWeight = p.GetValue(wordWeight) ?? o.WordWeight,
                EvidencePrior = p.GetValue(evidencePrior) ?? o.EvidencePrior,
                MinN = p.GetValue(minN) ?? o.MinN,
                MaxN = p.GetValue(maxN) ?? o.MaxN,
                HandWrittenWeight = p.GetValue(handWrittenWeight) ?? o.HandWrittenWeight,
                BenignWeight = p.GetValue(benignWeight) ?? o.BenignWeight,
                TemplatedFraction = p.GetValue(templatedFraction) ?? o.TemplatedFraction,
                CalibrationFraction = p.GetValue(calibrationFraction) ?? o.CalibrationFraction,
                FixedTemperature = p.GetValue(temperature) ?? o.FixedTemperature,
                BenignLogitOffset = p.GetValue(benignOffset) ?? o.BenignLogitOffset,
                Threshold = p.GetValue(threshold) ?? o.Threshold,
            };
            return p.GetValue(calibration) switch
            {
                null => o,
                "binary" => o with { CalibrationTarget = IntentCalibrationTarget.Binary },
                "class" => o with { CalibrationTarget = IntentCalibrationTarget.Class },
                "none" => o with { CalibrationFraction = 0 },
                var other => throw new IntentModelException("intent_input_invalid", $"--calibration is binary, class or none, not '{other}'."),
            };
        }
    }

    // {capability, resource, input}: missing fields count as empty; anything else is a typed error.
    private static string TextOf(string line, int number)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(number, "expected a JSON object");
            }

            return IntentText.Build(Field(root, "capability", number), Field(root, "resource", number), Field(root, "input", number));
        }
        catch (JsonException e)
        {
            throw Invalid(number, $"not valid JSON ({e.Message})");
        }
    }

    private static string? Field(JsonElement root, string name, int number)
        => !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
            : value.ValueKind == JsonValueKind.String ? value.GetString()
            : throw Invalid(number, $"'{name}' must be a string");

    private static IntentModelException Invalid(int number, string why) => new("intent_input_invalid", $"line {number}: {why}.");
}
