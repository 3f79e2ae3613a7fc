namespace Aim.Tokens.Verification;

public sealed partial class AipVerifier
{
    private ValueTask<AipVerifiedToken> VerifyChainedAsync(string token, DateTimeOffset now, AipAccessRequest? request, CancellationToken ct) =>
        throw AipException.Malformed("Chained tokens are not supported yet.");
}
