using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Aim.Intent;
using Aim.Intent.Check;
using Aim.Intent.Onnx;
using Aim.Intent.Onnx.Training;
using Aim.Intent.Training;

namespace Aim.Cli.Commands;

/// <summary><c>aim intent train|classify</c>: the in-process intent classifier (step 5 of the call path).</summary>
internal static class IntentCommand
{
    // One object per line, quotes and '<' left readable: this is terminal and pipe output, not HTML.
    private static readonly JsonSerializerOptions JsonLines = new(Cli.Json) { WriteIndented = false };

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Corpus directory with train*.jsonl and heldout*.jsonl.", DefaultValueFactory = _ => "data/intent" };
        var output = new Option<string>("--out") { Description = "Where to write the model (for the shipped one: src/Aim.Intent/Model/intent-model.bin).", Required = true };
        var overrides = new TrainingOverrides();
        var secondStageOut = new Option<string?>("--second-stage-out") { Description = "Also train the ONNX second stage's head (src/Aim.Intent.Onnx/Model/intent-head.bin for the shipped one) and print the three-outcome evaluation." };
        var embeddingCache = new Option<string?>("--embedding-cache") { Description = "Where sentence embeddings of the corpus are cached between runs (default: the temp directory)." };
        var trainThreads = new Option<int>("--threads") { Description = "Folds or embeddings computed at once for the second stage.", DefaultValueFactory = _ => 2 };
        var heldOutReport = new Option<bool>("--held-out") { Description = "Print the second stage's three-outcome figures on each heldout*.jsonl (run once, with final settings)." };
        var train = new Command("train", "Train the intent model (deterministic) and print per-class precision/recall on each held-out set.") { data, output, secondStageOut, embeddingCache, trainThreads, heldOutReport };
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

            if (p.GetValue(secondStageOut) is { } headPath)
            {
                RequireSecondStage();
                TrainSecondStage(p.GetValue(data)!, headPath, report.Model, options, p.GetValue(embeddingCache), Math.Max(1, p.GetValue(trainThreads)), p.GetValue(heldOutReport));
            }

            return Cli.Ok;
        }));

        var json = new Option<bool>("--json") { Description = "Write one JSON object per line: {label, confidence, malicious_probability, evidence, risk, outcome, stage, score, latency_us}." };
        var model = new Option<string?>("--model") { Description = "Use this model file instead of the embedded one." };
        var secondStage = new Option<bool>("--second-stage") { Description = "Also consult the ONNX second stage (all-MiniLM-L6-v2 + the shipped head) for high and critical actions in its band, as an agent that enables it would." };
        var input = new Argument<string>("FILE") { Description = "JSON lines {capability, resource, input} (a line not starting with '{' is classified as plain text); '-' or nothing for stdin.", DefaultValueFactory = _ => "-" };
        var classify = new Command("classify", "Classify actions with the intent model and give the outcome (allow, step_up, deny) of the default policy for each capability's risk level.") { json, model, secondStage, input };
        classify.SetAction(p => Cli.Run(() =>
        {
            var classifier = p.GetValue(model) is { } modelPath ? new IntentClassifier(IntentModel.LoadFile(modelPath)) : IntentClassifier.Default;
            if (p.GetValue(secondStage))
            {
                RequireSecondStage();
            }

            using var stage = p.GetValue(secondStage) ? new OnnxIntentStage() : null;
            var file = p.GetValue(input)!;
            using var reader = file == "-" ? Console.In : new StreamReader(file);
            var asJson = p.GetValue(json);
            classifier.Classify("warm up: load the model and JIT the path before the first timed line");
            stage?.Score("warm up", 0.5f, CancellationToken.None);
            var number = 0;
            while (reader.ReadLine() is { } line)
            {
                number++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                var (text, capability) = line.TrimStart().StartsWith('{') ? TextOf(line, number) : (line, null);
                var clock = Stopwatch.GetTimestamp();
                var verdict = classifier.Classify(text);
                var decision = Decide(capability, verdict.MaliciousProbability, text, stage);
                var micros = Stopwatch.GetElapsedTime(clock).TotalMicroseconds;
                if (asJson)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new
                    {
                        label = verdict.LabelName,
                        confidence = Math.Round(verdict.Confidence, 4),
                        malicious_probability = Math.Round(verdict.MaliciousProbability, 4),
                        evidence = verdict.Evidence.Select(e => new { text = e.Text, weight = Math.Round(e.Weight, 4) }),
                        risk = decision.Risk.ToString().ToLowerInvariant(),
                        outcome = decision.Outcome.ToWireName(),
                        stage = decision.Stage,
                        score = Math.Round(decision.Score, 4),
                        latency_us = Math.Round(micros, 1),
                    }, JsonLines));
                }
                else
                {
                    Console.WriteLine($"{decision.Outcome.ToWireName(),-8} {decision.Risk.ToString().ToLowerInvariant(),-9} {decision.Stage,-7} {verdict.LabelName,-20} {verdict.Confidence:0.00}  p(malicious) {verdict.MaliciousProbability:0.00}  [{string.Join(" | ", verdict.Evidence.Select(e => e.Text))}]  {micros:0} us");
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

    private static void TrainSecondStage(string dataDirectory, string headPath, IntentModel firstStage, IntentTrainingOptions options, string? cachePath, int threads, bool heldOut)
    {
        var files = EmbeddingModelFiles.FromPackageAssembly();
        using var embedder = new SentenceEmbedder(files);
        cachePath ??= Path.Combine(Path.GetTempPath(), $"aim-intent-embeddings-{files.Sha256[..12]}.bin");
        var report = SecondStageTraining.Run(dataDirectory, files, embedder, firstStage, options, cachePath, threads, Console.Out);

        var firstOnly = SecondStageReport.FirstStageOnly(report.Folds);
        var stacked = SecondStageReport.Cascade(report.Folds, 0f, 1f);
        Console.WriteLine();
        Console.WriteLine("frontier, first stage alone (leave-one-author-out, pooled):");
        Console.Write(IntentOutcomeReport.FrontierMarkdown(firstOnly));
        Console.WriteLine();
        Console.WriteLine("frontier, first stage + second stage on every line (leave-one-author-out, pooled):");
        Console.Write(IntentOutcomeReport.FrontierMarkdown(stacked));

        // The shipped cut points are IntentCheckOptions' defaults; the band is where the cascade needs the second stage to
        // decide as full stacking would under them.
        var (criticalFrom, criticalTo) = report.BandFor(IntentCheckOptions.DefaultCritical, IntentCheckOptions.DefaultSecondStageCritical);
        var (highFrom, highTo) = report.BandFor(IntentCheckOptions.DefaultHigh, IntentCheckOptions.DefaultSecondStageHigh);
        report.SetBand(Math.Min(criticalFrom, highFrom), Math.Max(criticalTo, highTo));
        report.Head.Save(headPath);
        Console.WriteLine();
        Console.WriteLine($"wrote {headPath} ({report.Head.Version}, band {report.Head.UncertainFrom:0.00}..{report.Head.UncertainTo:0.00}, {report.Elapsed.TotalSeconds:0} s)");
        foreach (var (target, stepUp) in new[] { ("critical", 0.10), ("high", 0.05) })
        {
            Console.WriteLine($"best point for {target} (benign denied <= 1%, stepped up <= {stepUp:P0}): first stage {Describe(IntentOutcomeReport.BestPoint(firstOnly, 0.01, stepUp))}, second stage on every line {Describe(IntentOutcomeReport.BestPoint(stacked, 0.01, stepUp))}");
        }

        var cascade = SecondStageReport.Cascade(report.Folds, report.Head.UncertainFrom, report.Head.UncertainTo);
        foreach (var (level, thresholds, second) in new[]
        {
            ("critical", IntentCheckOptions.DefaultCritical, IntentCheckOptions.DefaultSecondStageCritical),
            ("high", IntentCheckOptions.DefaultHigh, IntentCheckOptions.DefaultSecondStageHigh),
        })
        {
            Console.WriteLine();
            Console.WriteLine($"{level} defaults ({Describe(thresholds)}), first stage alone, per left-out file:");
            Console.Write(IntentOutcomeReport.ToMarkdown(IntentOutcomeReport.Count(firstOnly, thresholds)));
            Console.WriteLine();
            Console.WriteLine($"{level} defaults (second stage: {Describe(second)}), cascade (second stage in the band), per left-out file:");
            Console.Write(IntentOutcomeReport.ToMarkdown(IntentOutcomeReport.Count(cascade, thresholds, second)));
            if (heldOut)
            {
                Console.WriteLine();
                Console.WriteLine($"{level} defaults, held-out files (final models, scored once), first stage alone:");
                Console.Write(IntentOutcomeReport.ToMarkdown(IntentOutcomeReport.Count(SecondStageReport.FirstStageOnly(report.HeldOut), thresholds)));
                Console.WriteLine();
                Console.WriteLine($"{level} defaults, held-out files, cascade:");
                Console.Write(IntentOutcomeReport.ToMarkdown(IntentOutcomeReport.Count(SecondStageReport.Cascade(report.HeldOut, report.Head.UncertainFrom, report.Head.UncertainTo), thresholds, second)));
            }
        }

        static string Describe(IntentThresholds t) => $"step up at {t.StepUpAt:0.0000}, deny at {t.DenyAt:0.0000}";
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

    // The default policy for the capability's risk level (plain text lines, with no capability, count as medium: the
    // risk classifier's default). Low: not classified; medium: allowed (classified in the background, only reported).
    /// <summary>The installed aim tool leaves the second stage's model out (see Aim.Cli.csproj); say so before ONNX Runtime is touched.</summary>
    private static void RequireSecondStage()
    {
        if (!File.Exists(EmbeddingModelFiles.DefaultPackageAssemblyPath))
        {
            throw new AimConfigurationException(
                "The ONNX second stage is not part of the installed aim tool (its 91 MB model and ONNX Runtime are left out of the package). " +
                "Run it from a clone of the repository: dotnet run --project src/Aim.Cli -- intent ...");
        }
    }

    private static (RiskLevel Risk, IntentOutcome Outcome, string Stage, float Score) Decide(string? capability, float firstStage, string text, OnnxIntentStage? stage)
    {
        var risk = Aim.Capabilities.RiskClassifier.Classify(capability ?? string.Empty).Level;
        if (risk is RiskLevel.Low or RiskLevel.Auto)
        {
            return (risk, IntentOutcome.Allow, "none", firstStage);
        }

        if (risk == RiskLevel.Medium)
        {
            return (risk, IntentOutcome.Allow, IntentClassifierCheck.FirstStageName, firstStage);
        }

        if (stage is not null && firstStage >= stage.UncertainFrom && firstStage <= stage.UncertainTo)
        {
            var score = stage.Score(text, firstStage, CancellationToken.None);
            return (risk, IntentCheckOptions.DefaultOutcome(risk, score, secondStage: true), IntentClassifierCheck.SecondStageName, score);
        }

        return (risk, IntentCheckOptions.DefaultOutcome(risk, firstStage), IntentClassifierCheck.FirstStageName, firstStage);
    }

    // {capability, resource, input}: missing fields count as empty; anything else is a typed error.
    private static (string Text, string? Capability) TextOf(string line, int number)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(number, "expected a JSON object");
            }

            var capability = Field(root, "capability", number);
            return (IntentText.Build(capability, Field(root, "resource", number), Field(root, "input", number)), capability);
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
