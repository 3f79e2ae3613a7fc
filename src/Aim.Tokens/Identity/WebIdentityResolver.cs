using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Aim.Tokens.Identity;

/// <summary>
/// Resolves <c>aip:web</c> identifiers by fetching <c>https://&lt;domain&gt;/.well-known/aip/&lt;path&gt;.json</c>, verifying
/// the document's signature, and caching the keys for at most five minutes. Each fetch runs through a
/// Microsoft.Extensions.Http.Resilience pipeline: transient failures (connection errors, 408, 429, 5xx, an attempt that
/// times out) are retried with jittered exponential backoff, all within one overall timeout. Fails closed: when the
/// pipeline gives up, and for any other non-200 answer, a redirect, an oversized or invalid document, it throws
/// <see cref="AipErrorCodes.IdentityUnresolvable"/> (failures are not cached, so the next call tries again).
/// </summary>
public sealed class WebIdentityResolver : IAipIdentityResolver
{
    /// <summary>The longest a resolved document is cached.</summary>
    public static readonly TimeSpan MaxCacheDuration = TimeSpan.FromMinutes(5);

    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly TimeSpan _cacheDuration;
    private readonly TimeSpan _timeout;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly ConcurrentDictionary<string, (IReadOnlyList<AipPublicKey> Keys, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates the resolver.</summary>
    /// <param name="http">The client used for fetches (configure it without automatic redirects).</param>
    /// <param name="timeProvider">Clock for cache expiry and key windows.</param>
    /// <param name="cacheDuration">How long a document is reused; capped at five minutes (default five minutes).</param>
    /// <param name="timeout">The longest one resolution may take, retries and reading included (default five seconds).</param>
    /// <param name="maxRetries">Retries of a transient failure (default 2; 0 disables retrying).</param>
    /// <param name="retryDelay">The first retry's median delay, doubling per retry with jitter (default 200 ms).</param>
    /// <exception cref="ArgumentOutOfRangeException">The timeout or delay is not positive, or the retry count is negative.</exception>
    public WebIdentityResolver(
        HttpClient http,
        TimeProvider? timeProvider = null,
        TimeSpan? cacheDuration = null,
        TimeSpan? timeout = null,
        int maxRetries = 2,
        TimeSpan? retryDelay = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _time = timeProvider ?? TimeProvider.System;
        var duration = cacheDuration ?? MaxCacheDuration;
        _cacheDuration = duration > MaxCacheDuration ? MaxCacheDuration : duration < TimeSpan.Zero ? TimeSpan.Zero : duration;
        _timeout = timeout ?? TimeSpan.FromSeconds(5);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_timeout, TimeSpan.Zero, nameof(timeout));
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries);
        var delay = retryDelay ?? TimeSpan.FromMilliseconds(200);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(delay, TimeSpan.Zero, nameof(retryDelay));
        _pipeline = FetchPipeline(_timeout, maxRetries, delay);
    }

    /// <summary>The effective cache duration (never above five minutes).</summary>
    public TimeSpan CacheDuration => _cacheDuration;

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<AipPublicKey>> ResolveAsync(AipIdentifier identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (identifier.Kind != AipIdentifierKind.Web)
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, "The web resolver only resolves aip:web identifiers.");
        }

        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(identifier.Value, out var cached) && now < cached.Until)
        {
            return cached.Keys;
        }

        byte[] body;
        try
        {
            // The deadline also bounds reading the body, which happens after the pipeline has returned the response.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            using var response = await _pipeline.ExecuteAsync(
                static (state, ct) => new ValueTask<HttpResponseMessage>(state.Http.SendAsync(
                    new HttpRequestMessage(HttpMethod.Get, state.Uri), HttpCompletionOption.ResponseHeadersRead, ct)),
                (Http: _http, Uri: identifier.DocumentUri),
                timeout.Token).ConfigureAwait(false);
            // A redirect followed by the handler would let another origin answer for this identity.
            if (response.RequestMessage?.RequestUri is { } answered && answered != identifier.DocumentUri)
            {
                throw new AipException(AipErrorCodes.IdentityUnresolvable, $"The identity document of {identifier} was redirected; refusing.");
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new AipException(AipErrorCodes.IdentityUnresolvable, $"The identity document of {identifier} answered {(int)response.StatusCode}.");
            }

            body = await ReadBoundedAsync(response.Content, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or InvalidOperationException or ExecutionRejectedException)
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, $"The identity document of {identifier} could not be fetched.", ex);
        }

        var document = AipIdentityDocument.ParseAndVerify(body, identifier.Value, now);
        _cache[identifier.Value] = (document.Keys, now + _cacheDuration);
        return document.Keys;
    }

    /// <summary>Forgets every cached document.</summary>
    public void ClearCache() => _cache.Clear();

    /// <summary>Retries of transient outcomes (the package's HTTP predicates), each attempt under its own timeout.</summary>
    private static ResiliencePipeline<HttpResponseMessage> FetchPipeline(TimeSpan total, int maxRetries, TimeSpan retryDelay)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (maxRetries > 0)
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = maxRetries,
                Delay = retryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                // A hostile host could ask for any wait; the overall timeout is the only bound that counts.
                ShouldRetryAfterHeader = false,
            });
        }

        // An attempt gets half the overall time, so a hung first attempt leaves room for a retry.
        return builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = total / 2 }).Build();
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken ct)
    {
        if (content.Headers.ContentLength > AipIdentityDocument.MaxDocumentBytes)
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, "The identity document is larger than 64 KiB.");
        }

        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[AipIdentityDocument.MaxDocumentBytes + 1];
        var total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > AipIdentityDocument.MaxDocumentBytes)
            {
                throw new AipException(AipErrorCodes.IdentityUnresolvable, "The identity document is larger than 64 KiB.");
            }
        }

        return buffer.AsSpan(0, total).ToArray();
    }
}
