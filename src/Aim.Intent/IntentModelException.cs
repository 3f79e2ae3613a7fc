namespace Aim.Intent;

/// <summary>
/// A model file or training corpus could not be used. <see cref="AimException.Code"/> is
/// <c>intent_model_invalid</c> (bad or corrupted model bytes) or <c>intent_corpus_invalid</c> (bad training data).
/// </summary>
public sealed class IntentModelException : AimException
{
    /// <summary>Creates the exception.</summary>
    public IntentModelException(string code, string message, Exception? inner = null)
        : base(code, message, inner)
    {
    }

    internal static IntentModelException Model(string message, Exception? inner = null) => new("intent_model_invalid", message, inner);

    internal static IntentModelException Corpus(string message, Exception? inner = null) => new("intent_corpus_invalid", message, inner);
}
