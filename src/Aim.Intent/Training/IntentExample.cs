namespace Aim.Intent.Training;

/// <summary>One labelled line of the corpus.</summary>
/// <param name="Capability">The capability the action uses, for example <c>db:query</c>.</param>
/// <param name="Resource">The resource it touches (may be empty).</param>
/// <param name="Input">What the action is about to do: method, description, arguments.</param>
/// <param name="Label">The true class.</param>
public sealed record IntentExample(string Capability, string Resource, string Input, IntentClass Label)
{
    /// <summary>The largest <see cref="Weight"/> the trainer accepts.</summary>
    public const int MaxWeight = 16;

    /// <summary>
    /// How many times the example is visited per training epoch (1 to <see cref="MaxWeight"/>): a sample
    /// weight. <see cref="IntentCorpus.ReadTraining(string, int)"/> gives hand-written lines more weight
    /// than templated ones.
    /// </summary>
    public int Weight { get; init; } = 1;

    /// <summary>The text the classifier sees, built the same way as at run time (see <see cref="IntentText"/>).</summary>
    public string Text => IntentText.Build(Capability, Resource, Input);
}
