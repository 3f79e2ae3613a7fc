using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Aim.Benchmarks.Shared;
using Aim.Crypto;
using Aim.Gateway;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

// The gateway's added latency, measured on loopback (issue 8: p50 under 100 us over direct).
//
//   dotnet run -c Release --project benchmarks/Aim.Gateway.Load -- [--requests 5000] [--warmup 1000] [--settle 60] [--concurrency 1] [--audit-window 2] [--threads] [--decide-only N] [--profile-gateway N]
//
// One process hosts a small Kestrel upstream (answers a fixed JSON-RPC result), the real gateway in front of it
// (GatewayHost.Build: the request decided by AimRuntime as gateway:forward of tool:search, step 4 verifying the token with
// the verifier's cache, signed authorized and outcome records, forwarding with YARP's IHttpForwarder) and a bare forwarder
// (Kestrel + the same upstream handler settings, no Aim) as the floor of a second HTTP hop (the one side-by-side run with
// the former hand-written forwarder, 2026-12-07, is in benchmarks/README.md), and a YARP hop (YARP's forwarder with the
// gateway's settings, no Aim) as the floor of the gateway's forwarding. The client sends a small MCP tools/call body with a valid compact token, sequentially by default (concurrency 1
// isolates the per-request cost; more concurrency measures queueing too). Requests to the four targets are interleaved
// (direct, gateway, bare, YARP, direct, ...) so machine load drifts affect each alike. The difference of p50s is the figure.
int requests = Option("--requests", 5000);
int warmup = Option("--warmup", 1000);
// After --warmup requests, keep warming (rounds of 1,000 per target, at most --settle seconds; 0 = not at all) until a
// round JIT-compiles fewer than 20 methods three rounds in a row: tiered compilation (tier 0 -> instrumented -> tier 1, in the background,
// after call-count delays) takes many seconds on 2 loaded cores, and a run measured before it settles measures the JIT
// and instrumented code, not the proxy.
int settleSeconds = Option("--settle", 60, allowZero: true);
int concurrency = Option("--concurrency", 1);
int auditWindow = Option("--audit-window", 2, allowZero: true);
bool threadBreakdown = args.Contains("--threads"); // per-thread CPU of the "alone" phase, by thread name (Linux /proc)

string home = Directory.CreateTempSubdirectory("aim-gw-load-").FullName;
using var issuer = Ed25519KeyPair.Generate();
using var agent = Ed25519KeyPair.Generate();
string agentId = AipIdentifier.ForKey(agent.PublicKey);
const string Body = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"q":"order 1234"}}}""";
var answer = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"found"}]}}""");

// The upstream, the bare hop and the YARP hop stand for other processes (StandIn, at the end).
var upstream = StandIn();
await using var upstreamApp = upstream.Build();
upstreamApp.Run(async context =>
{
    // Drain the request body, answer a small JSON-RPC result with a Content-Length.
    var sink = new byte[1024];
    while (await context.Request.Body.ReadAsync(sink) > 0)
    {
    }

    context.Response.ContentType = "application/json";
    context.Response.ContentLength = answer.Length;
    await context.Response.Body.WriteAsync(answer);
});
await upstreamApp.StartAsync();
string upstreamUrl = upstreamApp.Urls.First();

var config = GatewayConfig.Parse($$"""
{
  "listen": "http://127.0.0.1:0",
  "upstream": "{{upstreamUrl}}",
  "trustedKeys": ["{{AipIdentifier.ForKey(issuer.PublicKey)}}"],
  "grants": ["gateway:forward@tool:search", "gateway:forward@/*"],
  "maxDepth": 1, "maxBudgetUsd": 10, "maxTtlSeconds": 3600, "auditWindowMilliseconds": {{auditWindow}},
  "home": "{{home}}"
}
""");
await using var gateway = GatewayHost.Build(config, l => l.ClearProviders());
await gateway.StartAsync();

// The floor: a second loopback hop with the gateway's own upstream handler settings and nothing else.
var bare = StandIn();
await using var bareApp = bare.Build();
using var bareInvoker = new HttpMessageInvoker(GatewayProxy.CreateUpstreamHandler(config));
bareApp.Run(async context =>
{
    var buffer = new byte[(int)(context.Request.ContentLength ?? 0)];
    await context.Request.Body.ReadExactlyAsync(buffer);
    using var outgoing = new HttpRequestMessage(HttpMethod.Post, upstreamUrl.TrimEnd('/') + context.Request.Path.Value) { Content = new ByteArrayContent(buffer), Version = HttpVersion.Version11 };
    outgoing.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType);
    using var response = await bareInvoker.SendAsync(outgoing, context.RequestAborted);
    context.Response.StatusCode = (int)response.StatusCode;
    context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
    context.Response.ContentLength = response.Content.Headers.ContentLength;
    await response.Content.CopyToAsync(context.Response.Body);
});
await bareApp.StartAsync();

// The floor of the gateway's forwarding: YARP's IHttpForwarder with the gateway's request settings and upstream handler,
// its default transformer, and nothing of Aim (no token, no inspection, no decision, no record).
var yarp = StandIn();
yarp.Services.AddHttpForwarder();
await using var yarpApp = yarp.Build();
using var yarpInvoker = new HttpMessageInvoker(GatewayProxy.CreateUpstreamHandler(config));
var yarpForwarder = yarpApp.Services.GetRequiredService<IHttpForwarder>();
var yarpRequestConfig = GatewayProxy.CreateRequestConfig();
string yarpDestination = upstreamUrl.TrimEnd('/');
yarpApp.Run(async context =>
{
    if (await yarpForwarder.SendAsync(context, yarpDestination, yarpInvoker, yarpRequestConfig, HttpTransformer.Default) != ForwarderError.None)
    {
        throw new InvalidOperationException("The YARP hop could not forward.");
    }
});
await yarpApp.StartAsync();

var iat = DateTimeOffset.UtcNow;
string token = CompactToken.Create(issuer, new AipTokenClaims(AipIdentifier.ForKey(issuer.PublicKey), agentId, ["tool:search"], 5m, 1, iat, iat.AddMinutes(50)));

using var client = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AutomaticDecompression = DecompressionMethods.None, ActivityHeadersPropagator = null });
var targets = new (string Name, Uri Url, bool WithToken)[]
{
    ("direct", new Uri(upstreamUrl.TrimEnd('/') + "/mcp"), false),
    ("gateway", new Uri(gateway.Urls.First().TrimEnd('/') + "/mcp"), true),
    ("bare hop", new Uri(bareApp.Urls.First().TrimEnd('/') + "/mcp"), false),
    ("YARP hop", new Uri(yarpApp.Urls.First().TrimEnd('/') + "/mcp"), false),
};
async Task FlushAuditAsync(WebApplication app) => await ((Aim.Engine.EmbeddedEngine)app.Services.GetRequiredService<Aim.Engine.IAimEngine>()).AuditLog.FlushAsync();

// --profile-gateway N: only N sequential gateway requests (after the warm-up), nothing else, for an external profiler.
int profileOnly = Option("--profile-gateway", 0);
if (profileOnly > 0)
{
    for (int i = 0; i < warmup; i++)
    {
        await SendAsync(targets[1]);
    }

    Console.WriteLine($"profiling: {profileOnly} gateway requests, pid {Environment.ProcessId}");
    var started = Process.GetCurrentProcess().TotalProcessorTime;
    for (int i = 0; i < profileOnly; i++)
    {
        await SendAsync(targets[1]);
    }

    await FlushAuditAsync(gateway);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"process CPU per gateway request: {(Process.GetCurrentProcess().TotalProcessorTime - started).TotalMicroseconds / profileOnly:F0} us"));
    return 0;
}

// --decide-only N: N decisions of the gateway's action through its runtime (authorize + outcome record, the token cached),
// no HTTP: Aim's own per-request work on the request thread.
int decideOnly = Option("--decide-only", 0);
if (decideOnly > 0)
{
    var runtime = gateway.Services.GetRequiredService<Aim.AimRuntime>();
    var action = new Aim.ActionDescriptor(GatewayProxy.ForwardCapability, "tool:search", Aim.RiskLevel.Medium, method: GatewayProxy.ForwardCapability);
    async Task<double> RoundAsync(int n)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++)
        {
            using var delegation = Aim.AimDelegation.Require(token);
            var scope = await runtime.BeginActionAsync(action, []);
            scope.Complete();
        }

        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / n;
    }

    for (int round = 0; round < 8; round++)
    {
        double perDecision = await RoundAsync(decideOnly);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"decide-only round {round}: {perDecision:F1} us per decision (load {ProcStat.LoadAverage()})"));
    }

    await FlushAuditAsync(gateway);
    return 0;
}

async Task<long> SendAsync((string Name, Uri Url, bool WithToken) target)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new StringContent(Body, Encoding.UTF8, "application/json"), Version = HttpVersion.Version11 };
    if (target.WithToken)
    {
        request.Headers.TryAddWithoutValidation("X-AIP-Token", token);
    }

    long start = Stopwatch.GetTimestamp();
    using var response = await client.SendAsync(request, CancellationToken.None);
    await response.Content.ReadAsByteArrayAsync();
    long elapsed = Stopwatch.GetTimestamp() - start;
    if (response.StatusCode != HttpStatusCode.OK)
    {
        throw new InvalidOperationException($"{target.Name} answered {(int)response.StatusCode}");
    }

    return elapsed;
}

async Task<List<long>[]> RunAsync(int count)
{
    var samples = targets.Select(_ => new List<long>(count)).ToArray();
    int next = -1;
    async Task Worker()
    {
        while (Interlocked.Increment(ref next) < count)
        {
            for (int t = 0; t < targets.Length; t++)
            {
                long elapsed = await SendAsync(targets[t]);
                lock (samples[t])
                {
                    samples[t].Add(elapsed);
                }
            }
        }
    }

    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Worker)));
    return samples;
}

Console.WriteLine($"gateway load: {requests} requests per target after {warmup} warm-up, concurrency {concurrency}, audit window {auditWindow} ms, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
Console.WriteLine($"load average before: {ProcStat.LoadAverage()}");
long warmJit = System.Runtime.JitInfo.GetCompiledMethodCount();
var warmClock = Stopwatch.StartNew();
await RunAsync(warmup);
int warmed = warmup, quietRounds = 0;
long lastRoundJit = System.Runtime.JitInfo.GetCompiledMethodCount() - warmJit;
while (settleSeconds > 0 && quietRounds < 3 && warmClock.Elapsed.TotalSeconds < settleSeconds)
{
    long roundStart = System.Runtime.JitInfo.GetCompiledMethodCount();
    await RunAsync(1000);
    warmed += 1000;
    lastRoundJit = System.Runtime.JitInfo.GetCompiledMethodCount() - roundStart;
    quietRounds = lastRoundJit < 20 ? quietRounds + 1 : 0;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up: {warmed} requests per target in {warmClock.Elapsed.TotalSeconds:F1} s; methods JIT-compiled in its last round: {lastRoundJit}{(settleSeconds > 0 && quietRounds < 3 ? " (NOT settled: the figures include JIT work)" : "")}"));
long jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
var jitTimeBefore = System.Runtime.JitInfo.GetCompilationTime();
var results = await RunAsync(requests);
long jitDuring = System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore;
var jitTimeDuring = System.Runtime.JitInfo.GetCompilationTime() - jitTimeBefore;
string loadAfter = ProcStat.LoadAverage();

double Us(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
double Pct(List<long> sorted, double p) => Us(sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * p))]);
var sorted = results.Select(r => r.Order().ToList()).ToArray();
Console.WriteLine();
Console.WriteLine("| target | p50 (us) | p90 (us) | p99 (us) |");
Console.WriteLine("|---|---:|---:|---:|");
for (int t = 0; t < targets.Length; t++)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {targets[t].Name} | {Pct(sorted[t], 0.50):F0} | {Pct(sorted[t], 0.90):F0} | {Pct(sorted[t], 0.99):F0} |"));
}

Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"added by the gateway over direct: p50 {Pct(sorted[1], 0.50) - Pct(sorted[0], 0.50):F0} us, p99 {Pct(sorted[1], 0.99) - Pct(sorted[0], 0.99):F0} us (target: p50 under 100 us)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"of which a bare second hop: p50 {Pct(sorted[2], 0.50) - Pct(sorted[0], 0.50):F0} us; Aim's own work (gateway - bare hop): p50 {Pct(sorted[1], 0.50) - Pct(sorted[2], 0.50):F0} us"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"a YARP hop (the gateway's forwarder, no Aim work) adds p50 {Pct(sorted[3], 0.50) - Pct(sorted[0], 0.50):F0} us; Aim's work on top of YARP (gateway - YARP hop): p50 {Pct(sorted[1], 0.50) - Pct(sorted[3], 0.50):F0} us"));

Console.WriteLine($"load average after: {loadAfter}");
// Methods still being (re)compiled during the measured run mean the figures include JIT work (tiering not settled).
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"JIT during the measured run: {jitDuring} methods, {jitTimeDuring.TotalMilliseconds:F0} ms"));

// CPU time per request (all threads of the process: client, servers, audit writer), each target alone. Less sensitive
// to other processes than wall time, so it tells a loaded run's figures apart from the machine's load.
Console.WriteLine();
Console.WriteLine("| target alone | process CPU per request (us) |");
Console.WriteLine("|---|---:|");
var cpu = new double[targets.Length];
for (int t = 0; t < targets.Length; t++)
{
    var process = Process.GetCurrentProcess();
    var threadsBefore = threadBreakdown ? ProcStat.ThreadCpuByName() : null;
    var before = process.TotalProcessorTime;
    for (int i = 0; i < requests; i++)
    {
        await SendAsync(targets[t]);
    }

    if (t == 1)
    {
        await FlushAuditAsync(gateway); // the audit work belongs to these requests
    }

    process.Refresh();
    cpu[t] = (process.TotalProcessorTime - before).TotalMicroseconds / requests;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {targets[t].Name} | {cpu[t]:F0} |"));
    if (threadsBefore is not null)
    {
        foreach (var (name, us) in ProcStat.ThreadCpuSince(threadsBefore, requests))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"|   thread '{name}' | {us:F1} |"));
        }
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CPU added by the gateway over direct: {cpu[1] - cpu[0]:F0} us per request (bare hop: {cpu[2] - cpu[0]:F0} us, YARP hop: {cpu[3] - cpu[0]:F0} us)"));

await gateway.StopAsync();

await bareApp.StopAsync();
await yarpApp.StopAsync();
await upstreamApp.StopAsync();
try
{
    Directory.Delete(home, recursive: true);
}
catch (IOException)
{
}

return 0;

// A loopback Kestrel app standing for another process: no server header, no logs, and no watcher of its own that would see
// the gateway's audit writes.
static WebApplicationBuilder StandIn()
{
    var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false"]);
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
    builder.Logging.ClearProviders();
    return builder;
}

int Option(string name, int fallback, bool allowZero = false)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int value) && (value > 0 || (allowZero && value == 0)) ? value : fallback;
}
