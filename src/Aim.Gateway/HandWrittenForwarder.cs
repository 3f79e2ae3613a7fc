using System.Collections.Frozen;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Aim.Gateway;

/// <summary>
/// TEMPORARY, for one comparison run of benchmarks/Aim.Gateway.Load only: the gateway's former hand-written forwarding
/// (HttpRequestMessage built by hand, headers copied without the hop-by-hop ones, the response streamed into Kestrel's pipe)
/// behind YARP's interface, so the same gateway can be measured with either forwarder. Removed after that run.
/// </summary>
internal sealed class HandWrittenForwarder : IHttpForwarder
{
    private static readonly FrozenSet<string> HopByHop = new[]
    {
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
        "Proxy-Connection",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer) =>
        SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, context.RequestAborted);

    public async ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient, ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
    {
        var request = context.Request;
        using var outgoing = new HttpRequestMessage(HttpMethod.Parse(request.Method), destinationPrefix + request.Path.Value + request.QueryString.Value)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            outgoing.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name) || GatewayProxy.IsVerifiedHeader(name))
            {
                continue;
            }

            if (!outgoing.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        GatewayProxy.AddIdentity(transformer, outgoing);
        HttpResponseMessage response;
        try
        {
            response = await httpClient.SendAsync(outgoing, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return ForwarderError.Request;
        }

        using (response)
        {
            var target = context.Response;
            target.StatusCode = (int)response.StatusCode;
            Copy(response.Headers.NonValidated, target.Headers);
            Copy(response.Content.Headers.NonValidated, target.Headers);
            var writer = target.BodyWriter;
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                int read = await stream.ReadAsync(writer.GetMemory(8192), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }

        return ForwarderError.None;
    }

    private static void Copy(HttpHeadersNonValidated headers, IHeaderDictionary target)
    {
        foreach (var (name, values) in headers)
        {
            if (!HopByHop.Contains(name))
            {
                target[name] = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues(values.ToArray());
            }
        }
    }
}
