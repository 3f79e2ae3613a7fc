using System.Net;
using System.Text.Json.Nodes;
using Aim.Authorization;
using Aim.Capabilities;
using Aim.Identity;
using Aim.Tokens.A2A;
using Aim.Tokens.Chained;
using Aim.Tokens.Compact;
using Aim.Tokens.Http;
using Aim.Tokens.Runtime;
using static Aim.Tokens.Tests.TestKeys;

namespace Aim.Tokens.Tests;

public sealed class BindingTests
{
    private readonly ManualClock _clock = new(T0.AddMinutes(1));
    private readonly Aim.Crypto.Ed25519KeyPair _user = FromByte(1);
    private readonly Aim.Crypto.Ed25519KeyPair _agent = FromByte(2);
    private readonly Aim.Crypto.Ed25519KeyPair _other = FromByte(3);

    private ActionRequest Request(string capability, string? token, Aim.Crypto.Ed25519KeyPair actor) => new()
    {
        ActionId = "a1",
        Agent = new AgentIdentity(Guid.NewGuid(), "agent", actor.PublicKey),
        Capability = Capability.Parse(capability),
        Risk = RiskLevel.Low,
        DelegationToken = token,
        Time = _clock.Now,
    };

    [Fact]
    public async Task Chain_check_allows_the_capability_in_scope_for_the_holder_only()
    {
        var token = CompactToken.Create(_user, Claims(_user, _agent, ["db:*", "email:send"]));
        var check = new AipChainCheck(Verifier(_clock, _user));

        Assert.True((await check.CheckAsync(Request("db:read", token, _agent), default)).Allowed);
        var outOfScope = await check.CheckAsync(Request("payment:refund", token, _agent), default);
        Assert.False(outOfScope.Allowed);
        Assert.Equal(AipErrorCodes.ScopeInsufficient, outOfScope.ReasonCode);
        var wrongHolder = await check.CheckAsync(Request("db:read", token, _other), default);
        Assert.False(wrongHolder.Allowed);
        Assert.Equal(AipErrorCodes.ScopeInsufficient, wrongHolder.ReasonCode);
        var garbage = await check.CheckAsync(Request("db:read", "garbage", _agent), default);
        Assert.Equal(AipErrorCodes.TokenMalformed, garbage.ReasonCode);
    }

    [Fact]
    public async Task Handler_attaches_the_token_once()
    {
        string? seen = null;
        var inner = new StubHandler(r =>
        {
            seen = string.Join(",", r.Headers.GetValues(AipHttp.TokenHeader));
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        using var client = new HttpClient(new AipTokenHandler(() => "tok") { InnerHandler = inner });
        await client.GetAsync(new Uri("http://localhost/x"));
        Assert.Equal("tok", seen);

        using var request = new HttpRequestMessage(HttpMethod.Get, "http://localhost/y");
        request.Headers.Add(AipHttp.TokenHeader, "explicit");
        await client.SendAsync(request);
        Assert.Equal("explicit", seen);
    }

    [Fact]
    public void Header_reading_accepts_both_forms_and_refuses_conflicts()
    {
        Assert.Equal("t", AipHttp.ReadToken(["t"], []));
        Assert.Equal("t", AipHttp.ReadToken([], ["AIP t"]));
        Assert.Equal("t", AipHttp.ReadToken(["t"], ["AIP t"]));
        Assert.Null(AipHttp.ReadToken([], ["Bearer t"]));
        Assert.Equal(AipErrorCodes.TokenMalformed, Assert.Throws<AipException>(() => AipHttp.ReadToken(["a"], ["AIP b"])).Code);
        Assert.Equal(AipErrorCodes.TokenMalformed, Assert.Throws<AipException>(() => AipHttp.ReadToken(["a", "b"], [])).Code);
    }

    [Fact]
    public async Task A2A_request_carries_the_token_and_the_receiver_must_be_the_last_delegate()
    {
        var card = AipA2A.WithAipIdentity(new JsonObject { ["name"] = "specialist" }, Id(_agent));
        Assert.Equal(Id(_agent), AipA2A.ReadAipIdentity(card));

        var chain = ChainedToken.Delegate(
            ChainedToken.Create(_user, new AipAuthority(Id(_user), ["tool:search"], 2, T0.AddMinutes(30))),
            _user, new AipDelegation(Id(_agent), ["tool:search"], "search for me"));
        var rpc = AipA2A.AttachToken(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "message/send" }, chain);
        Assert.Equal(chain, (string?)rpc["params"]!["metadata"]!["aip_token"]);

        var verifier = Verifier(_clock, _user);
        Assert.Equal(Id(_agent), (await AipA2A.VerifyRequestAsync(verifier, rpc, Id(_agent), "tool:search")).Subject);
        var error = await Assert.ThrowsAsync<AipException>(async () => await AipA2A.VerifyRequestAsync(verifier, rpc, Id(_other), "tool:search"));
        Assert.Equal(AipErrorCodes.ScopeInsufficient, error.Code);
        var missing = await Assert.ThrowsAsync<AipException>(async () => await AipA2A.VerifyRequestAsync(verifier, new JsonObject(), Id(_agent)));
        Assert.Equal(AipErrorCodes.TokenMissing, missing.Code);
        rpc["params"]!["metadata"]!["aip_token"] = 42;
        Assert.Equal(AipErrorCodes.TokenMalformed, Assert.Throws<AipException>(() => AipA2A.ReadToken(rpc)).Code);
    }
}
