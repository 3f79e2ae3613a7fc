using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Aim.Mcp.Tests;

public sealed class ClientHelperTests
{
    [Fact]
    public void Token_goes_into_meta_and_keeps_other_meta()
    {
        var options = new RequestOptions { Meta = new System.Text.Json.Nodes.JsonObject { ["trace"] = "t1" } };
        var withToken = options.WithAipToken("a.b.c");
        Assert.Equal("a.b.c", withToken.Meta!["aip_token"]!.GetValue<string>());
        Assert.Equal("t1", withToken.Meta!["trace"]!.GetValue<string>());
        Assert.Null(options.Meta!["aip_token"]);
        Assert.Throws<ArgumentException>(() => options.WithAipToken(" "));
    }

    [Fact]
    public void Refusal_round_trips_its_code()
    {
        var refusal = McpCallRefusal.Create("aip_token_expired", "old");
        Assert.True(refusal.IsError);
        Assert.Equal("aip_token_expired", McpCallRefusal.ReadCode(refusal));
        Assert.Null(McpCallRefusal.ReadCode(new CallToolResult { Content = [new TextContentBlock { Text = "ok" }] }));
    }
}
