namespace Aim.Intent.Training;

/// <summary>Hyper-parameters of <see cref="IntentTrainer"/>. The defaults produce the shipped model.</summary>
public sealed record IntentTrainingOptions
{
    /// <summary>Seeds weight initialization and example order; same seed and data, same model bytes.</summary>
    public ulong Seed { get; init; } = 20261121;

    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; init; } = 30;

    /// <summary>The starting learning rate; it decays linearly to zero.</summary>
    public float LearningRate { get; init; } = 0.5f;

    /// <summary>The size of the hidden (embedding) vector.</summary>
    public int Dimension { get; init; } = 16;

    /// <summary>log2 of the number of hashed feature buckets.</summary>
    public int BucketBits { get; init; } = 16;

    /// <summary>
    /// How many times each word unigram and bigram counts in the averaged hidden vector, relative to one
    /// character n-gram (1 to 8). Stored in the model file (format version 3).
    /// </summary>
    public int WordWeight { get; init; } = 4;

    /// <summary>
    /// Zero-vector pseudo-features in the average's denominator (0 to 4096; stored in the model file, format version 4):
    /// the hidden vector is the sum of an input's feature rows over (feature count + this), so an input with little text
    /// carries little evidence and its scores stay near the biases (the class prior) instead of saturating.
    /// </summary>
    public int EvidencePrior { get; init; } = 256;

    /// <summary>
    /// The sample weight <see cref="IntentTrainingRun.FromDirectory"/> gives hand-written training lines
    /// (templated ones count 1), 1 to <see cref="IntentExample.MaxWeight"/>. The shipped model uses 1: weights 2 and 3
    /// were within seed noise in leave-one-author-out cross-validation (docs/intent.md).
    /// </summary>
    public int HandWrittenWeight { get; init; } = 1;

    /// <summary>
    /// The sample weight of benign training lines (1 to <see cref="IntentExample.MaxWeight"/>, multiplied with
    /// <see cref="HandWrittenWeight"/> and capped at the maximum): a class weight on the benign side of the loss.
    /// </summary>
    public int BenignWeight { get; init; } = 1;

    /// <summary>
    /// The share (0 exclusive to 1) of the templated training lines (<see cref="IntentCorpus.TemplatedFilePrefix"/>*)
    /// kept: a seeded, per-class subsample. 1 keeps them all.
    /// </summary>
    public double TemplatedFraction { get; init; } = 1;

    /// <summary>
    /// A fixed softmax temperature instead of the fitted one (skips the calibration split); <see langword="null"/> fits
    /// it as <see cref="CalibrationFraction"/> and <see cref="CalibrationTarget"/> say.
    /// </summary>
    public float? FixedTemperature { get; init; }

    /// <summary>
    /// Added to the final model's benign bias (in logit units, before the temperature) after training and calibration
    /// (0 to 16): moves the operating point at a fixed threshold toward fewer benign false positives. Chosen by
    /// leave-one-author-out cross-validation (<see cref="IntentCrossValidation"/>), never on held-out data: the
    /// shipped 1.0 is the smallest value on a 0.25 grid whose pooled benign false-positive rate at 0.8 is at most 5%
    /// (docs/intent.md).
    /// </summary>
    public float BenignLogitOffset { get; init; } = 1f;

    /// <summary>The shortest character n-gram.</summary>
    public int MinN { get; init; } = 3;

    /// <summary>The longest character n-gram.</summary>
    public int MaxN { get; init; } = 5;

    /// <summary>
    /// The share of each class's training examples held back (seeded) to fit the softmax temperature
    /// before the final model is trained on all examples; 0 skips calibration (temperature 1).
    /// </summary>
    public double CalibrationFraction { get; init; } = 0.2;

    /// <summary>The loss the temperature minimizes on the calibration split.</summary>
    public IntentCalibrationTarget CalibrationTarget { get; init; } = IntentCalibrationTarget.Binary;

    /// <summary>The decision threshold reported in evaluations (the default of the authorization step).</summary>
    public float Threshold { get; init; } = 0.8f;
}

/// <summary>What the temperature fitted by <see cref="IntentTrainer"/> is chosen to predict well.</summary>
public enum IntentCalibrationTarget
{
    /// <summary>The malicious-versus-benign decision: log loss of 1 - P(benign) (what the authorization step acts on).</summary>
    Binary,

    /// <summary>The class: multi-class log loss of P(true class).</summary>
    Class,
}
