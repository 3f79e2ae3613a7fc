using Aim.Tokens.Verification;

namespace Aim.Tokens.Tests.Adversarial;

/// <summary>
/// One generated attack: a token built with raw operations and the code the verifier must answer. With
/// <see cref="RequireAttestation"/> it runs against a verifier that requires attested blocks; with <see cref="Receiver"/>
/// it is presented over A2A to that agent (the last delegation must name it).
/// </summary>
internal sealed record Attack(string Category, string Description, string Token, string ExpectedCode, AipAccessRequest? Request = null)
{
    public bool RequireAttestation { get; init; }

    public string? Receiver { get; init; }

    public override string ToString() => $"{Category}: {Description}";
}
