using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aim.Gateway.Tests;

/// <summary>An upstream on 127.0.0.1 that answers <c>{}</c> and counts the requests that reached it (a refusal must not).</summary>
public sealed class CountingUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _hits;

    private CountingUpstream(WebApplication app) => _app = app;

    /// <summary>How many requests reached the upstream so far.</summary>
    public int Hits => Volatile.Read(ref _hits);

    /// <summary>The address the gateway forwards to.</summary>
    public string Url => _app.Urls.First();

    public static async Task<CountingUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var upstream = new CountingUpstream(builder.Build());
        upstream._app.Run(context =>
        {
            Interlocked.Increment(ref upstream._hits);
            return context.Response.WriteAsync("{}");
        });
        await upstream._app.StartAsync();
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
