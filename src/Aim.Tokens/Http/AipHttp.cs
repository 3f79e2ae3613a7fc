using System.Net.Http.Headers;

namespace Aim.Tokens.Http;

/// <summary>The AIP HTTP binding: a token travels in <c>X-AIP-Token</c> or in <c>Authorization: AIP &lt;token&gt;</c>.</summary>
public static class AipHttp
{
    /// <summary>The token header.</summary>
    public const string TokenHeader = "X-AIP-Token";

    /// <summary>The Authorization scheme.</summary>
    public const string AuthorizationScheme = "AIP";

    /// <summary>
    /// Picks the token out of header values: <c>X-AIP-Token</c> first, else <c>Authorization: AIP …</c>. Two different
    /// tokens (or several <c>X-AIP-Token</c> values) are refused rather than guessed between.
    /// </summary>
    /// <param name="tokenHeaderValues">The values of <c>X-AIP-Token</c> (may be empty).</param>
    /// <param name="authorizationValues">The values of <c>Authorization</c> (may be empty).</param>
    /// <returns>The token, or null when none is present.</returns>
    /// <exception cref="AipException"><see cref="AipErrorCodes.TokenMalformed"/>: several or conflicting tokens.</exception>
    public static string? ReadToken(IEnumerable<string?> tokenHeaderValues, IEnumerable<string?> authorizationValues)
    {
        var fromHeader = tokenHeaderValues.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!.Trim()).ToList();
        var fromAuthorization = authorizationValues
            .Where(v => v is not null && v.StartsWith(AuthorizationScheme + " ", StringComparison.OrdinalIgnoreCase))
            .Select(v => v![(AuthorizationScheme.Length + 1)..].Trim())
            .Where(v => v.Length > 0)
            .ToList();
        if (fromHeader.Count > 1 || fromAuthorization.Count > 1)
        {
            throw AipException.Malformed("More than one AIP token was presented.");
        }

        if (fromHeader.Count == 1 && fromAuthorization.Count == 1 && fromHeader[0] != fromAuthorization[0])
        {
            throw AipException.Malformed("X-AIP-Token and Authorization carry different tokens.");
        }

        return fromHeader.Count == 1 ? fromHeader[0] : fromAuthorization.Count == 1 ? fromAuthorization[0] : null;
    }

    /// <summary>Reads the token of an outgoing or incoming <see cref="HttpRequestMessage"/>'s headers.</summary>
    /// <exception cref="AipException">As for <see cref="ReadToken(IEnumerable{string?}, IEnumerable{string?})"/>.</exception>
    public static string? ReadToken(HttpRequestHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var token = headers.TryGetValues(TokenHeader, out var values) ? values : [];
        var authorization = headers.Authorization is { } auth ? [auth.Scheme + " " + auth.Parameter] : Array.Empty<string?>();
        return ReadToken(token, authorization);
    }
}

/// <summary>
/// Attaches the current AIP token to outgoing <see cref="HttpClient"/> calls as <c>X-AIP-Token</c>, so delegation flows
/// across HTTP. A request that already carries a token is left alone.
/// </summary>
public sealed class AipTokenHandler : DelegatingHandler
{
    private readonly Func<string?> _tokenSource;

    /// <summary>Creates the handler.</summary>
    /// <param name="tokenSource">Returns the token to attach, or null for none (for example <c>() =&gt; AimDelegation.CurrentToken</c>).</param>
    public AipTokenHandler(Func<string?> tokenSource)
    {
        ArgumentNullException.ThrowIfNull(tokenSource);
        _tokenSource = tokenSource;
    }

    /// <inheritdoc/>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Headers.Contains(AipHttp.TokenHeader) && _tokenSource() is { Length: > 0 } token)
        {
            request.Headers.TryAddWithoutValidation(AipHttp.TokenHeader, token);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
