namespace Aim.Intent.Training;

/// <summary>
/// Trains an <see cref="IntentModel"/> with plain SGD on softmax cross-entropy (fastText's supervised
/// recipe, plus a bias). Deterministic: scalar arithmetic in a fixed order, a seeded SplitMix64
/// generator and a table-free exp, so the same data and options give the same bytes on every x64 or
/// Arm64 machine. Single-threaded on purpose (determinism; the CPU is shared).
/// </summary>
public static class IntentTrainer
{
    /// <summary>Trains a model.</summary>
    /// <param name="examples">The training examples (order matters only through the seeded shuffle).</param>
    /// <param name="options">Hyper-parameters; <see langword="null"/> for the defaults.</param>
    /// <param name="log">Receives one progress line per few epochs; may be <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">No examples, an example weight out of range, or options out of range.</exception>
    public static IntentModel Train(IReadOnlyList<IntentExample> examples, IntentTrainingOptions? options = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        options ??= new IntentTrainingOptions();
        if (examples.Count == 0)
        {
            throw new ArgumentException("Training needs at least one example.", nameof(examples));
        }

        if (options.Dimension is < 1 or > 512 || options.BucketBits is < 8 or > 24 || options.Epochs < 1
            || options.MinN < 1 || options.MaxN < options.MinN || options.MaxN > 8 || !(options.LearningRate > 0)
            || !(options.CalibrationFraction is >= 0 and < 1) || options.WordWeight is < 1 or > FeaturizerSettings.MaxWordWeight
            || options.EvidencePrior is < 0 or > FeaturizerSettings.MaxEvidencePrior
            || options.FixedTemperature is { } t && !(t >= IntentModel.MinTemperature && t <= IntentModel.MaxTemperature)
            || !(options.BenignLogitOffset is >= 0 and <= 16))
        {
            throw new ArgumentException("Training options are out of range.", nameof(options));
        }

        if (examples.Any(e => e.Weight is < 1 or > IntentExample.MaxWeight))
        {
            throw new ArgumentException($"Example weights are 1 to {IntentExample.MaxWeight}.", nameof(examples));
        }

        var settings = new FeaturizerSettings(options.BucketBits, options.MinN, options.MaxN, options.WordWeight, options.EvidencePrior);
        var weights = examples.Select(e => e.Weight).ToArray();
        var features = examples.Select(e => Featurize(e.Text, settings)).ToArray();
        var labels = examples.Select(e => (int)e.Label).ToArray();

        var temperature = options.FixedTemperature ?? 1f;
        var (fit, validation) = options.FixedTemperature is null ? SplitForCalibration(labels, options) : ([], []);
        if (validation.Length > 0 && fit.Length > 0)
        {
            // Temperature scaling: train on the rest, pick T minimizing the validation loss, then train on everything.
            log?.WriteLine($"calibration: training on {fit.Length} examples, fitting the temperature on {validation.Length} held back from the training files");
            var weightedFit = Repeat(fit, weights);
            var probe = TrainWeights(weightedFit.Select(i => features[i]).ToArray(), weightedFit.Select(i => labels[i]).ToArray(), settings, options, null);
            temperature = FitTemperature(probe, validation.Select(i => features[i]).ToArray(), validation.Select(i => labels[i]).ToArray(), options.CalibrationTarget);
            log?.WriteLine($"calibration: temperature {temperature:0.00} ({options.CalibrationTarget} loss)");
        }

        var all = Repeat(Enumerable.Range(0, examples.Count).ToArray(), weights);
        var model = TrainWeights(all.Select(i => features[i]).ToArray(), all.Select(i => labels[i]).ToArray(), settings, options, log);

        // The operating-point shift comes after the temperature fit, which would otherwise undo part of it.
        model.Bias[(int)IntentClass.Benign] += options.BenignLogitOffset;
        return model.WithTemperature(temperature);
    }

    // Sample weights as repetition: an example of weight w is visited w times per epoch (after the calibration
    // split, so no example is on both sides of it; the validation side counts each example once).
    private static int[] Repeat(int[] indices, int[] weights)
    {
        var repeated = new List<int>(indices.Length);
        foreach (var index in indices)
        {
            for (var k = 0; k < weights[index]; k++)
            {
                repeated.Add(index);
            }
        }

        return repeated.ToArray();
    }

    private static IntentModel TrainWeights(int[][] features, int[] labels, FeaturizerSettings settings, IntentTrainingOptions options, TextWriter? log)
    {
        var dimension = options.Dimension;
        var classes = IntentLabels.Count;
        var random = new SplitMix64(options.Seed);
        var embeddings = new float[(long)settings.BucketCount * dimension];
        var bound = 1.0 / dimension;
        for (var i = 0; i < embeddings.Length; i++)
        {
            embeddings[i] = (float)(((random.NextDouble() * 2) - 1) * bound);
        }

        var output = new float[classes * dimension];
        var bias = new float[classes];
        var hidden = new float[dimension];
        var gradient = new float[dimension];
        var probabilities = new double[classes];
        var order = Enumerable.Range(0, labels.Length).ToArray();
        long totalSteps = (long)options.Epochs * order.Length;
        long step = 0;

        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            Shuffle(order, random);
            var loss = 0.0;
            foreach (var index in order)
            {
                var rate = options.LearningRate * (1.0 - ((double)step / totalSteps));
                step++;
                var input = features[index];
                if (input.Length == 0)
                {
                    continue;
                }

                Array.Clear(hidden);
                foreach (var bucket in input)
                {
                    var row = bucket * dimension;
                    for (var d = 0; d < dimension; d++)
                    {
                        hidden[d] += embeddings[row + d];
                    }
                }

                var inverse = settings.HiddenScale(input.Length);
                for (var d = 0; d < dimension; d++)
                {
                    hidden[d] *= inverse;
                }

                Softmax(hidden, output, bias, probabilities);
                var label = labels[index];
                loss -= Math.Log(Math.Max(probabilities[label], 1e-12));

                Array.Clear(gradient);
                for (var c = 0; c < classes; c++)
                {
                    var alpha = (float)(rate * ((c == label ? 1.0 : 0.0) - probabilities[c]));
                    var row = c * dimension;
                    for (var d = 0; d < dimension; d++)
                    {
                        gradient[d] += alpha * output[row + d];
                        output[row + d] += alpha * hidden[d];
                    }

                    bias[c] += alpha;
                }

                for (var d = 0; d < dimension; d++)
                {
                    gradient[d] *= inverse;
                }

                foreach (var bucket in input)
                {
                    var row = bucket * dimension;
                    for (var d = 0; d < dimension; d++)
                    {
                        embeddings[row + d] += gradient[d];
                    }
                }
            }

            if (log is not null && (epoch % 5 == 4 || epoch == options.Epochs - 1))
            {
                log.WriteLine($"epoch {epoch + 1,3}/{options.Epochs}: mean loss {loss / order.Length:0.0000}");
            }
        }

        // Buckets no example touched hold only their random start: noise for unseen text. Zero them
        // (unseen features then weigh nothing) and keep the model file small.
        var touched = new bool[settings.BucketCount];
        foreach (var input in features)
        {
            foreach (var bucket in input)
            {
                touched[bucket] = true;
            }
        }

        for (var b = 0; b < touched.Length; b++)
        {
            if (!touched[b])
            {
                Array.Clear(embeddings, b * dimension, dimension);
            }
        }

        return new IntentModel(settings, dimension, embeddings, output, bias);
    }

    // A stratified, seeded split: the first CalibrationFraction of each class (in a shuffled order) is validation.
    private static (int[] Fit, int[] Validation) SplitForCalibration(int[] labels, IntentTrainingOptions options)
    {
        if (options.CalibrationFraction <= 0)
        {
            return (Enumerable.Range(0, labels.Length).ToArray(), []);
        }

        var order = Enumerable.Range(0, labels.Length).ToArray();
        Shuffle(order, new SplitMix64(options.Seed ^ 0x5EED_CA11_B8A7_1000UL));
        var perClass = new int[IntentLabels.Count];
        foreach (var label in labels)
        {
            perClass[label]++;
        }

        var taken = new int[IntentLabels.Count];
        var fit = new List<int>();
        var validation = new List<int>();
        foreach (var index in order)
        {
            var label = labels[index];
            if (taken[label] < (int)(perClass[label] * options.CalibrationFraction))
            {
                taken[label]++;
                validation.Add(index);
            }
            else
            {
                fit.Add(index);
            }
        }

        fit.Sort();
        validation.Sort();
        return (fit.ToArray(), validation.ToArray());
    }

    // Grid search over T = 0.05, 0.06, ..., 3.00 (a fixed grid, so the choice is the same on every machine).
    internal static float FitTemperature(IntentModel model, int[][] features, int[] labels, IntentCalibrationTarget target)
    {
        var classes = IntentLabels.Count;
        var logits = new double[features.Length * classes];
        var hidden = new float[model.Dimension];
        var probabilities = new double[classes];
        for (var i = 0; i < features.Length; i++)
        {
            Hidden(features[i], model.Embeddings, model.Dimension, model.Settings, hidden);
            Logits(hidden, model.Output, model.Bias, probabilities);
            probabilities.CopyTo(logits, i * classes);
        }

        var best = 1f;
        var bestLoss = double.PositiveInfinity;
        for (var step = 5; step <= 300; step++)
        {
            var inverse = 100.0 / step;
            var loss = 0.0;
            for (var i = 0; i < features.Length; i++)
            {
                var max = double.NegativeInfinity;
                for (var c = 0; c < classes; c++)
                {
                    max = Math.Max(max, logits[(i * classes) + c] * inverse);
                }

                var sum = 0.0;
                for (var c = 0; c < classes; c++)
                {
                    probabilities[c] = DeterministicExp((logits[(i * classes) + c] * inverse) - max);
                    sum += probabilities[c];
                }

                var label = labels[i];
                double p;
                if (target == IntentCalibrationTarget.Binary)
                {
                    var benign = probabilities[(int)IntentClass.Benign] / sum;
                    p = label == (int)IntentClass.Benign ? benign : 1 - benign;
                }
                else
                {
                    p = probabilities[label] / sum;
                }

                loss -= DeterministicLog(Math.Max(p, 1e-12));
            }

            if (loss < bestLoss)
            {
                bestLoss = loss;
                best = step / 100f;
            }
        }

        return best;
    }

    // ln(x) for x > 0 from +, -, *, / and ILogB/ScaleB only (see DeterministicExp): x = m * 2^e with m in [0.75, 1.5),
    // ln m = 2 atanh((m - 1) / (m + 1)) by its series.
    internal static double DeterministicLog(double x)
    {
        const double Ln2 = 0.6931471805599453;
        var e = Math.ILogB(x);
        var m = Math.ScaleB(x, -e);
        if (m >= 1.5)
        {
            m /= 2;
            e++;
        }

        var z = (m - 1) / (m + 1);
        var z2 = z * z;
        var term = z;
        var sum = 0.0;
        for (var n = 1; n <= 41; n += 2)
        {
            sum += term / n;
            term *= z2;
        }

        return (2 * sum) + (e * Ln2);
    }

    // Logits before the temperature, in double precision (the cross-validation's temperature sweep).
    internal static double[] RawLogits(IntentModel model, string text)
    {
        var hidden = new float[model.Dimension];
        var logits = new double[IntentLabels.Count];
        Hidden(Featurize(text, model.Settings), model.Embeddings, model.Dimension, model.Settings, hidden);
        Logits(hidden, model.Output, model.Bias, logits);
        return logits;
    }

    // The classifier's hidden vector: the average of the feature rows.
    private static void Hidden(int[] input, float[] embeddings, int dimension, in FeaturizerSettings settings, float[] hidden)
    {
        Array.Clear(hidden);
        var count = input.Length;
        foreach (var bucket in input)
        {
            var row = bucket * dimension;
            for (var d = 0; d < dimension; d++)
            {
                hidden[d] += embeddings[row + d];
            }
        }

        if (count > 0)
        {
            var inverse = settings.HiddenScale(count);
            for (var d = 0; d < dimension; d++)
            {
                hidden[d] *= inverse;
            }
        }
    }

    private static void Logits(float[] hidden, float[] output, float[] bias, double[] logits)
    {
        var dimension = hidden.Length;
        for (var c = 0; c < logits.Length; c++)
        {
            double logit = bias[c];
            var row = c * dimension;
            for (var d = 0; d < dimension; d++)
            {
                logit += (double)hidden[d] * output[row + d];
            }

            logits[c] = logit;
        }
    }

    internal static int[] Featurize(string text, in FeaturizerSettings settings)
    {
        var normalized = IntentFeaturizer.NormalizedLength(text.Length);
        var norm = new char[normalized];
        var buckets = new int[IntentFeaturizer.MaxFeatures(normalized, settings)];
        var chunks = new int[buckets.Length];
        var starts = new int[normalized + 1];
        var lengths = new int[normalized + 1];
        var count = IntentFeaturizer.Extract(text, settings, norm, buckets, chunks, starts, lengths, out _);
        return buckets[..count];
    }

    private static void Softmax(float[] hidden, float[] output, float[] bias, double[] probabilities)
    {
        var dimension = hidden.Length;
        var max = double.NegativeInfinity;
        for (var c = 0; c < probabilities.Length; c++)
        {
            double logit = bias[c];
            var row = c * dimension;
            for (var d = 0; d < dimension; d++)
            {
                logit += (double)hidden[d] * output[row + d];
            }

            probabilities[c] = logit;
            max = Math.Max(max, logit);
        }

        var sum = 0.0;
        for (var c = 0; c < probabilities.Length; c++)
        {
            probabilities[c] = DeterministicExp(probabilities[c] - max);
            sum += probabilities[c];
        }

        for (var c = 0; c < probabilities.Length; c++)
        {
            probabilities[c] /= sum;
        }
    }

    // exp(x) for x <= 0 from +, -, *, / and ScaleB only, so every platform rounds alike
    // (Math.Exp defers to the C library, whose last bit may differ between machines).
    internal static double DeterministicExp(double x)
    {
        if (x < -700)
        {
            return 0;
        }

        const double Ln2 = 0.6931471805599453;
        var k = Math.Round(x / Ln2);
        var r = x - (k * Ln2);
        var term = 1.0;
        var sum = 1.0;
        for (var n = 1; n <= 13; n++)
        {
            term = term * r / n;
            sum += term;
        }

        return Math.ScaleB(sum, (int)k);
    }

    internal static void Shuffle(int[] order, SplitMix64 random)
    {
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = (int)(random.NextUInt64() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    internal sealed class SplitMix64(ulong seed)
    {
        private ulong state = seed;

        public ulong NextUInt64()
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
    }
}
