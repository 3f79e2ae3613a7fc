using Aim.Tokens.Verification;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>One generated attack: a token built with raw operations and the code the verifier must answer.</summary>
internal sealed record Attack(string Category, string Description, string Token, string ExpectedCode, AipAccessRequest? Request = null)
{
    public override string ToString() => $"{Category}: {Description}";
}
