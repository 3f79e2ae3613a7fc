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

    /// <summary>The shortest character n-gram.</summary>
    public int MinN { get; init; } = 3;

    /// <summary>The longest character n-gram.</summary>
    public int MaxN { get; init; } = 5;

    /// <summary>The decision threshold reported in evaluations (the default of the authorization step).</summary>
    public float Threshold { get; init; } = 0.8f;
}
