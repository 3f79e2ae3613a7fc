using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Aim.Tokens.Http;
using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aim.Tokens.AspNetCore;

/// <summary>
/// Authenticates requests carrying an AIP token (<c>X-AIP-Token</c> or <c>Authorization: AIP …</c>): a valid token becomes a
/// <see cref="ClaimsPrincipal"/>; challenges and refusals answer 401/403 with <c>{"error":{"code","message"}}</c>.
/// </summary>
public sealed class AipAuthenticationHandler : AuthenticationHandler<AipAuthenticationOptions>
{
    private const string ErrorItem = "aip_error";
    private AipVerifier? _verifier;

    /// <summary>Created by ASP.NET Core.</summary>
    public AipAuthenticationHandler(IOptionsMonitor<AipAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : base(options, logger, encoder)
    {
    }

    /// <inheritdoc/>
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? token;
        try
        {
            token = AipHttp.ReadToken(Request.Headers[AipHttp.TokenHeader], Request.Headers.Authorization);
        }
        catch (AipException ex)
        {
            Context.Items[ErrorItem] = ex;
            return AuthenticateResult.Fail(ex);
        }

        if (token is null)
        {
            return AuthenticateResult.NoResult();
        }

        try
        {
            var verified = await Verifier.VerifyAsync(token, null, Context.RequestAborted).ConfigureAwait(false);
            Context.Items[AipAuthenticationDefaults.TokenItem] = token;
            var principal = new ClaimsPrincipal(new ClaimsIdentity(ClaimsOf(verified), Scheme.Name, AipAuthenticationDefaults.SubjectClaim, ClaimTypes.Role));
            return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
        }
        catch (AipException ex)
        {
            Context.Items[ErrorItem] = ex;
            return AuthenticateResult.Fail(ex);
        }
    }

    /// <inheritdoc/>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var error = Context.Items[ErrorItem] as AipException ?? new AipException(AipErrorCodes.TokenMissing, "An AIP token is required.");
        return WriteErrorAsync(Response, error);
    }

    /// <inheritdoc/>
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var error = Context.Items[ErrorItem] as AipException ?? new AipException(AipErrorCodes.ScopeInsufficient, "The token does not allow this operation.");
        return WriteErrorAsync(Response, error);
    }

    /// <summary>Writes an AIP error response (status from the code, JSON body).</summary>
    public static Task WriteErrorAsync(HttpResponse response, AipException error)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(error);
        response.StatusCode = error.HttpStatus;
        response.ContentType = "application/json";
        return response.WriteAsync(error.ToErrorJson());
    }

    private AipVerifier Verifier => _verifier ??= Options.Verifier ?? new AipVerifier(Options.Verification);

    private static List<Claim> ClaimsOf(AipVerifiedToken token)
    {
        var claims = new List<Claim>
        {
            new(AipAuthenticationDefaults.SubjectClaim, token.Subject),
            new(ClaimTypes.NameIdentifier, token.Subject),
            new(AipAuthenticationDefaults.IssuerClaim, token.Issuer),
            new(AipAuthenticationDefaults.ModeClaim, token.Mode == AipTokenMode.Compact ? "compact" : "chained"),
            new(AipAuthenticationDefaults.DepthClaim, token.Depth.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Integer32),
        };
        claims.AddRange(token.Scopes.Select(s => new Claim(AipAuthenticationDefaults.ScopeClaim, s)));
        if (token.BudgetUsd is { } budget)
        {
            claims.Add(new Claim(AipAuthenticationDefaults.BudgetClaim, budget.ToString(CultureInfo.InvariantCulture), ClaimValueTypes.Double));
        }

        return claims;
    }
}
