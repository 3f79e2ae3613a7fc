using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Identity;
using Aim.Intent.Check;
using Aim.Tokens.Chained;
using Aim.Tokens.Compact;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using Xunit.Abstractions;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Aim.Equivalence.Tests;

/// <summary>
/// Issue 14's acceptance: generated cases (policy x action x context x token x intent text) run through the embedded
/// engine, the server on SQLite, the server on PostgreSQL with two replicas, and each front door (generated interceptors,
/// Microsoft.Extensions.AI functions, ASP.NET Core endpoints, MCP tools). Every call gets the same decision and reason code
/// everywhere, and a body runs exactly when its call is allowed.
/// </summary>
public sealed class DecisionEquivalenceTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>How many cases run in CI (AIM_EQUIVALENCE_CASES overrides it for a longer run).</summary>
    private static readonly int CaseCount = int.TryParse(Environment.GetEnvironmentVariable("AIM_EQUIVALENCE_CASES"), out var n) && n > 0 ? n : 220;

    private const int Seed = 20261207;

    private readonly string _root = Directory.CreateTempSubdirectory("aim-equivalence").FullName;
    private readonly Ed25519KeyPair _trustedRoot = Ed25519KeyPair.Generate();
    private readonly Ed25519KeyPair _untrustedRoot = Ed25519KeyPair.Generate();
    private readonly List<IAsyncDisposable> _owned = [];
    private TestServer _sqlite = null!;
    private TestServer _pgA = null!;
    private TestServer _pgB = null!;
    private ServerApprover _sqliteApprover = null!;
    private ServerApprover _pgApprover = null!;
    private WebApplication _endpoints = null!;
    private IHost _mcpHost = null!;
    private McpClient _mcpClient = null!;

    private string TrustedRootId => AipIdentifier.ForKey(_trustedRoot.PublicKey);

    public async Task InitializeAsync()
    {
        string adminKey = "aim_eq_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        void Intent(Aim.Server.AimServerOptions o) => o.IntentCheck = new IntentClassifierCheck();
        _sqlite = await TestServer.StartAsync(null, Path.Combine(_root, "sqlite"), adminKey, Intent);
        string database = TestServer.NewPostgresDatabase();
        string shared = Path.Combine(_root, "pg");
        _pgA = await TestServer.StartAsync(database, shared, adminKey, Intent);
        _pgB = await TestServer.StartAsync(database, shared, adminKey, Intent);
        _owned.AddRange([_sqlite, _pgA, _pgB]);
        foreach (var server in new[] { _sqlite, _pgA })
        {
            await server.AdminAsync(HttpMethod.Post, "api/v1/trusted-roots", new { identifier = TrustedRootId, label = "equivalence root" });
        }

        _sqliteApprover = new ServerApprover(_sqlite);
        _pgApprover = new ServerApprover(_pgA);
        _owned.AddRange([_sqliteApprover, _pgApprover]);

        var web = WebApplication.CreateSlimBuilder();
        web.WebHost.UseUrls("http://127.0.0.1:0");
        web.Logging.ClearProviders();
        _endpoints = web.Build();
        EndpointPath.Map(_endpoints);
        await _endpoints.StartAsync();
        (_mcpHost, _mcpClient) = await McpPath.StartAsync();
    }

    [Fact]
    public async Task Every_case_gets_the_same_decision_and_reason_code_everywhere()
    {
        var cases = CaseGenerator.Generate(CaseCount, Seed);
        var endpointUrl = new Uri(_endpoints.Urls.First() + "/");
        var mismatches = new List<string>();
        var codes = new Dictionary<string, int>(StringComparer.Ordinal);
        int calls = 0;
        int pathCount = 0;
        foreach (var @case in cases)
        {
            var context = await ContextForAsync(@case);
            IPath[] paths =
            [
                new EmbeddedPath(),
                new RemotePath("server-sqlite", [_sqlite], c => PrepareAsync(_sqlite, _sqliteApprover, c)),
                new RemotePath("server-postgres-2-replicas", [_pgA, _pgB], c => PrepareAsync(_pgA, _pgApprover, c)),
                new InterceptorPath(),
                new AIFunctionPath(),
                new EndpointPath(endpointUrl),
                new McpPath(_mcpClient),
                new GatewayPath(),
                new SemanticKernelPath(),
                new SemanticKernelAIFunctionPath(),
                new AgentFrameworkPath(),
                new McpHttpPath(),
            ];
            pathCount = paths.Length;
            var results = new Dictionary<string, List<Outcome>>();
            foreach (var path in paths)
            {
                await using (path)
                {
                    await path.StartAsync(context);
                    var outcomes = results[path.Name] = [];
                    foreach (var call in @case.Calls)
                    {
                        int before = Bodies.Runs;
                        var outcome = await path.CallAsync(call);
                        int ran = Bodies.Runs - before;
                        if (ran != (outcome.Allowed ? 1 : 0))
                        {
                            mismatches.Add($"{@case}\n  {path.Name}: {call} was {outcome} but its body ran {ran} time(s)");
                        }

                        outcomes.Add(outcome);
                    }
                }
            }

            var expected = results["embedded"];
            for (int i = 0; i < expected.Count; i++)
            {
                calls++;
                string key = expected[i].ToString();
                codes[key] = codes.GetValueOrDefault(key) + 1;
            }

            foreach (var (name, outcomes) in results)
            {
                if (!outcomes.SequenceEqual(expected))
                {
                    mismatches.Add($"{@case}\n  embedded: {string.Join(", ", expected)}\n  {name}: {string.Join(", ", outcomes)}");
                }
            }
        }

        output.WriteLine($"step-ups seen by the embedded approvers: {CaseContext.StepUps}");
        output.WriteLine($"{cases.Count} cases, {calls} calls, on {pathCount} paths; outcomes: {string.Join(", ", codes.OrderByDescending(c => c.Value).Select(c => $"{c.Key} x{c.Value}"))}");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} disagreement(s):\n" + string.Join("\n", mismatches.Take(20)));

        // The suite must exercise every step, not agree on trivia (a shorter run, AIM_EQUIVALENCE_CASES below 200, skips this part).
        if (cases.Count < 200)
        {
            return;
        }
        foreach (var code in new[] { "allow", "deny:capability_not_granted", "deny:resource_not_granted", "deny:attribute_mismatch", "deny:outside_time_window",
            "deny:rate_limited", "deny:budget_exceeded", "deny:aip_scope_insufficient", "deny:aip_token_expired", "deny:approval_denied" })
        {
            Assert.True(codes.ContainsKey(code), $"no call ended as {code}; outcomes: {string.Join(", ", codes.Keys)}");
        }

        Assert.Contains("deny:intent_flagged", codes.Keys);
        Assert.True(CaseContext.StepUps > 0, "no action was stepped up to an approval by step 5");
    }

    private async Task<CaseContext> ContextForAsync(Case @case)
    {
        string home = Path.Combine(_root, "case-" + @case.Id);
        string name = "eq-agent-" + @case.Id;
        using var key = new AgentKeyStore(home).LoadOrCreate(name);
        string aipId = key.Identity.AipId;
        string policyFile = Path.Combine(home, "policy.json");
        await File.WriteAllTextAsync(policyFile, new JsonObject { ["version"] = 1, ["agents"] = new JsonObject { [name] = @case.Policy.DeepClone() } }.ToJsonString());
        foreach (var clock in new[] { _sqlite.Clock, _pgA.Clock, _pgB.Clock })
        {
            clock.Set(@case.Time);
        }

        var caseClock = new CaseClock();
        caseClock.Set(@case.Time);
        var now = @case.Time;
        string[] everything = ["db:*", "email:*", "web:*", "payment:*", "shell:*"];
        string? token = @case.Token switch
        {
            TokenKind.Covering => Chain(_trustedRoot, everything, aipId, now),
            TokenKind.Narrow => Chain(_trustedRoot, ["db:read"], aipId, now),
            TokenKind.Expired => CompactToken.Create(_trustedRoot, new AipTokenClaims(TrustedRootId, aipId, everything, null, 0, now.AddHours(-2), now.AddHours(-1))),
            TokenKind.UntrustedRoot => Chain(_untrustedRoot, everything, aipId, now),
            _ => null,
        };
        var verifier = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(TrustedRootId), TimeProvider = caseClock });
        return new CaseContext(@case, home, name, aipId, token, policyFile, caseClock, verifier);
    }

    private static string Chain(Ed25519KeyPair root, string[] scopes, string holder, DateTimeOffset now)
    {
        string rootId = AipIdentifier.ForKey(root.PublicKey);
        string token = ChainedToken.Create(root, new AipAuthority(rootId, scopes, 2, now.AddMinutes(30)));
        return ChainedToken.Delegate(token, root, new AipDelegation(holder, scopes, "equivalence case"));
    }

    private static async Task PrepareAsync(TestServer server, ServerApprover approver, CaseContext context)
    {
        using var key = new AgentKeyStore(context.Home).Load(context.AgentName);
        string id = await server.RegisterAsync(context.AgentName, key.KeyPair, context.AipId);
        approver.Answer(id, context.Case.Approves);
        await server.AdminAsync(HttpMethod.Put, $"api/v1/agents/{id}/policy", context.Case.Policy.ToJsonString());
    }

    public async Task DisposeAsync()
    {
        await _mcpClient.DisposeAsync();
        await _mcpHost.StopAsync();
        _mcpHost.Dispose();
        await _endpoints.StopAsync();
        await _endpoints.DisposeAsync();
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        _trustedRoot.Dispose();
        _untrustedRoot.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true); // the servers' databases and the agents' logs: ~70 MB a run
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"Could not remove {_root}: {ex.Message}");
        }
    }
}
