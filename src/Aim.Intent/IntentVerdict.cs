namespace Aim.Intent;

/// <summary>The allocation-free result of <see cref="IntentClassifier.Predict(ReadOnlySpan{char})"/>.</summary>
/// <param name="Label">The most probable class.</param>
/// <param name="Confidence">The probability of <paramref name="Label"/>, 0..1.</param>
/// <param name="MaliciousProbability">The probability that the text is not benign (1 - P(benign)), 0..1.</param>
/// <param name="AttackClass">The most probable non-benign class: what a flagged action is reported as.</param>
public readonly record struct IntentPrediction(IntentClass Label, float Confidence, float MaliciousProbability, IntentClass AttackClass)
{
    /// <summary>
    /// Whether this prediction should stop an action: the malicious probability, summed over all attack
    /// classes, reaches <paramref name="threshold"/> (so an attack whose probability is split between two
    /// neighbouring classes still counts in full). Report it as <see cref="AttackClass"/>.
    /// </summary>
    public bool IsFlagged(float threshold) => MaliciousProbability >= threshold;
}

/// <summary>A part of the input that weighed for the verdict: a whitespace-separated run of the text.</summary>
/// <param name="Start">Its start in the input.</param>
/// <param name="Length">Its length.</param>
/// <param name="Weight">How much it pushed the verdict over the runner-up class (positive; larger is stronger).</param>
public readonly record struct IntentEvidenceSpan(int Start, int Length, float Weight);

/// <summary>One piece of evidence: the input text and its weight.</summary>
/// <param name="Text">The text, at most <see cref="MaxTextLength"/> chars. May quote argument values: log it only where values may be logged.</param>
/// <param name="Weight">How much it pushed the verdict over the runner-up class.</param>
/// <param name="Start">Where the text starts in the classified input.</param>
public sealed record IntentEvidence(string Text, float Weight, int Start)
{
    /// <summary>The longest evidence text kept.</summary>
    public const int MaxTextLength = 64;
}

/// <summary>A classification with its explanation.</summary>
/// <param name="Label">The most probable class.</param>
/// <param name="Confidence">The probability of <paramref name="Label"/>, 0..1.</param>
/// <param name="MaliciousProbability">The probability that the text is not benign, 0..1.</param>
/// <param name="Evidence">The input runs that weighed most, heaviest first.</param>
public sealed record IntentVerdict(IntentClass Label, float Confidence, float MaliciousProbability, IReadOnlyList<IntentEvidence> Evidence)
{
    /// <summary>
    /// The most probable non-benign class: what a flagged action is reported as. Equal to <see cref="Label"/>
    /// unless that is benign; <see cref="IntentClassifier.Classify"/> always sets it (a verdict built without
    /// it and with a benign label carries <see cref="IntentClass.Benign"/>).
    /// </summary>
    public IntentClass AttackClass { get; init; } = Label;

    /// <summary>The wire name of <see cref="AttackClass"/>.</summary>
    public string AttackClassName => AttackClass.ToLabel();

    /// <summary>The default number of evidence items.</summary>
    public const int DefaultEvidenceCount = 5;

    /// <summary>The wire name of <see cref="Label"/>.</summary>
    public string LabelName => Label.ToLabel();

    /// <summary>Whether this verdict should stop an action: the malicious probability (all attack classes together) reaches <paramref name="threshold"/>; report it as <see cref="AttackClass"/>.</summary>
    public bool IsFlagged(float threshold) => MaliciousProbability >= threshold;
}
