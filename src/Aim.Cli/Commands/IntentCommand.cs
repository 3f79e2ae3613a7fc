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
        var seed = new Option<ulong?>("--seed") { Description = "Override the training seed (the shipped model uses the default)." };
        var train = new Command("train", "Train the intent model (deterministic) and print per-class precision/recall on each held-out set.") { data, output, seed };
        train.SetAction(p => Cli.Run(() =>
        {
            var options = new IntentTrainingOptions();
            if (p.GetValue(seed) is { } s)
            {
                options = options with { Seed = s };
            }

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

        return new Command("intent", "The in-process intent classifier: train it, or classify actions.") { train, classify };
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
