namespace Aim.Intent.Training;

/// <summary>One labelled line of the corpus.</summary>
/// <param name="Capability">The capability the action uses, for example <c>db:query</c>.</param>
/// <param name="Resource">The resource it touches (may be empty).</param>
/// <param name="Input">What the action is about to do: method, description, arguments.</param>
/// <param name="Label">The true class.</param>
public sealed record IntentExample(string Capability, string Resource, string Input, IntentClass Label)
{
    /// <summary>The text the classifier sees, built the same way as at run time (see <see cref="IntentText"/>).</summary>
    public string Text => IntentText.Build(Capability, Resource, Input);
}
