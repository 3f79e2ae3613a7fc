namespace Aim.Intent;

/// <summary>
/// A second, slower opinion for actions the first stage (the n-gram <see cref="IntentClassifier"/>) is unsure about: for
/// example the ONNX sentence-embedding stage of <c>Aim.Intent.Onnx</c>, stacked with the first stage's score. Consulted by
/// the intent step only for high and critical actions whose first-stage malicious probability lies in
/// <see cref="UncertainFrom"/>..<see cref="UncertainTo"/>, off the calling thread and within a latency budget.
/// Implementations must be thread-safe.
/// </summary>
public interface IIntentSecondStage
{
    /// <summary>A stable name of the exact model (and head) for audit records, for example <c>minilm-l6-v2+head-1a2b3c4d5e6f</c>.</summary>
    string Version { get; }

    /// <summary>The lowest first-stage malicious probability that is sent to this stage (inclusive).</summary>
    float UncertainFrom { get; }

    /// <summary>The highest first-stage malicious probability that is sent to this stage (inclusive).</summary>
    float UncertainTo { get; }

    /// <summary>The malicious probability of <paramref name="text"/> given the first stage's score: replaces it in the decision.</summary>
    /// <param name="text">The action text (see <see cref="IntentText"/>).</param>
    /// <param name="firstStage">The first stage's malicious probability for the same text.</param>
    /// <param name="cancellationToken">Cancelled when the caller stops waiting.</param>
    /// <returns>A malicious probability, 0..1.</returns>
    float Score(string text, float firstStage, CancellationToken cancellationToken);
}
