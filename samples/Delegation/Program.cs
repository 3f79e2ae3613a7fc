// Delegation sample: a user hands a narrow slice of authority down a chain of agents, and a tool verifies the whole
// chain offline before it acts. Then two attacks on the same chain: a tampered block and a widened scope.
using System.Text;
using Aim.Biscuit;
using Aim.Identity;
using Aim.Tokens;
using Aim.Tokens.Chained;
using Aim.Tokens.Identity;
using Aim.Tokens.Verification;

using var user = AgentKey.Generate("user");
using var orchestrator = AgentKey.Generate("orchestrator");
using var specialist = AgentKey.Generate("specialist");

// 1. The user grants two tools and $5 for 30 minutes, and allows up to 3 further hops.
var root = ChainedToken.Create(user.KeyPair, new AipAuthority(
    user.Identity.AipId, ["tool:search_flights", "tool:book_flight"], MaxDepth: 3, DateTimeOffset.UtcNow.AddMinutes(30), BudgetUsd: 5m));

// 2. user -> orchestrator: both tools, $5.
var toOrchestrator = ChainedToken.Delegate(root, user.KeyPair, new AipDelegation(
    orchestrator.Identity.AipId, ["tool:search_flights", "tool:book_flight"], "plan a trip to Lisbon", 5m));

// 3. orchestrator -> specialist: one tool, $1, 10 minutes.
var toSpecialist = ChainedToken.Delegate(toOrchestrator, orchestrator.KeyPair, new AipDelegation(
    specialist.Identity.AipId, ["tool:search_flights"], "find flights", 1m, DateTimeOffset.UtcNow.AddMinutes(10)));

// 4. The tool trusts only the user as a root and verifies everything on the bytes it receives.
var tool = new AipVerifier(new AipVerifierOptions { TrustStore = new InMemoryTrustStore(user.Identity.AipId) });

Console.WriteLine("== honest chain: specialist calls tool:search_flights ($0.40)");
var verified = await tool.VerifyAsync(toSpecialist, new AipAccessRequest("tool:search_flights", 0.40m));
Console.WriteLine($"accepted: holder {verified.Subject}, scope [{string.Join(", ", verified.Scopes)}], budget ${verified.BudgetUsd}");
Console.WriteLine(verified.DescribeProvenance());

var failures = 0;
failures += await Expect("specialist calls tool:book_flight (narrowed away)", toSpecialist, "tool:book_flight", AipErrorCodes.ScopeInsufficient);

// Attack 1: a byte-level edit of block 2 ("find flights" -> "find hotels!"); its signature no longer matches.
var bytes = Decode(toSpecialist);
var at = bytes.AsSpan().IndexOf("find flights"u8);
"find hotels!"u8.CopyTo(bytes.AsSpan(at));
failures += await Expect("tampered block", Encode(bytes), "tool:search_flights", AipErrorCodes.SignatureInvalid);

// Attack 2: the specialist appends a raw Biscuit block (bypassing ChainedToken.Delegate, which would refuse) that
// re-grants tool:book_flight to itself. Delegation blocks are ordinary appended blocks (the AIP-standard form), so any
// holder of the bytes can append one; the verifier's attenuation walk reads the block's own tool check and refuses it.
var raw = BiscuitToken.FromBase64Unverified(toSpecialist);
var widened = new BlockBuilder().AddCode($$"""
    delegator("{{specialist.Identity.AipId}}"); delegate("{{specialist.Identity.AipId}}"); context("more power");
    check if tool($t), ["tool:search_flights", "tool:book_flight"].contains($t);
    """);
var attacked = raw.Attenuate(widened).ToBase64();
failures += await Expect("widened scope", attacked, "tool:book_flight", AipErrorCodes.ScopeInsufficient);

Console.WriteLine(failures == 0 ? "all outcomes as expected" : $"{failures} unexpected outcome(s)");
return failures == 0 ? 0 : 1;

async Task<int> Expect(string title, string token, string toolName, string expectedCode)
{
    Console.WriteLine($"== {title}: {toolName}");
    var (ok, error) = await tool.TryVerifyAsync(token, new AipAccessRequest(toolName));
    Console.WriteLine(ok is null ? $"rejected: {error!.Code} (HTTP {error.HttpStatus}) {error.Message}" : "ACCEPTED");
    return ok is null && error!.Code == expectedCode ? 0 : 1;
}

static byte[] Decode(string token) => System.Buffers.Text.Base64Url.DecodeFromChars(token.TrimEnd('='));

static string Encode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
