using Aim.Audit;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

namespace Aim.AI.Tests;

/// <summary>
/// End to end with the real Microsoft.Extensions.AI 11 <see cref="FunctionInvokingChatClient"/> and the real Agent
/// Framework <see cref="ChatClientAgent"/>: a model stand-in asks for a tool call, the real invoking client runs it.
/// </summary>
public sealed class ChatClientAndAgentTests
{
    private static AIFunction Tool(SupportTools target, string name) =>
        AIFunctionFactory.Create(typeof(SupportTools).GetMethod(name)!, target);

    [Fact]
    public async Task FunctionInvokingChatClient_runs_an_allowed_tool_through_the_call_path()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("LookupUser", new Dictionary<string, object?> { ["userId"] = "42" });
        using var client = new FunctionInvokingChatClient(model);

        var response = await client.GetResponseAsync("who is 42?", new ChatOptions { Tools = [Tool(tools, nameof(SupportTools.LookupUser)).WithAim(runtime: aim.Runtime)] });

        Assert.Equal(1, tools.Reads);
        Assert.Contains("user:42", response.Text, StringComparison.Ordinal);
        var audit = await aim.AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Authorized && r.Capability == "db:read");
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.Outcome == "success");
    }

    [Fact]
    public async Task FunctionInvokingChatClient_never_reaches_a_denied_tool_body_and_the_model_sees_a_failure()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("SendEmail", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "hi" });
        using var client = new FunctionInvokingChatClient(model);

        var response = await client.GetResponseAsync("mail a@b.c", new ChatOptions { Tools = [Tool(tools, nameof(SupportTools.SendEmailAsync)).WithAim(runtime: aim.Runtime)] });

        Assert.Equal(0, tools.Sends);
        var seen = Assert.Single(model.ResultsSeen);
        Assert.IsType<ActionDeniedException>(seen.Exception);
        Assert.StartsWith("failed: ", response.Text, StringComparison.Ordinal);
        Assert.Contains(await aim.AuditAsync(), r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
    }

    [Fact]
    public async Task FunctionInvokingChatClient_that_rethrows_surfaces_the_denial_to_the_caller()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("SendEmail", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "hi" });
        using var client = new FunctionInvokingChatClient(model) { IncludeDetailedErrors = true, MaximumConsecutiveErrorsPerRequest = 0 };

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() =>
            client.GetResponseAsync("mail", new ChatOptions { Tools = [Tool(tools, nameof(SupportTools.SendEmailAsync)).WithAim(runtime: aim.Runtime)] }));

        Assert.Equal("capability_not_granted", denied.ReasonCode);
        Assert.Equal(0, tools.Sends);
    }

    [Fact]
    public async Task Guard_stage_secures_tools_given_per_request_above_the_invoking_client()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("SendEmail", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "hi" });
        using var client = model.AsBuilder().UseAim(runtime: aim.Runtime).UseFunctionInvocation().Build();

        // The raw, unwrapped function: the guard wraps it before the invoking client runs it.
        await client.GetResponseAsync("mail", new ChatOptions { Tools = [Tool(tools, nameof(SupportTools.SendEmailAsync))] });

        Assert.Equal(0, tools.Sends);
        Assert.IsType<SecuredAIFunction>(Assert.Single(model.ToolsOffered!));
        Assert.Contains(await aim.AuditAsync(), r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
    }

    [Fact]
    public async Task Guard_stage_refuses_a_request_with_a_tool_it_cannot_secure()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("NotSecured", new Dictionary<string, object?>());
        using var client = model.AsBuilder().UseAim(runtime: aim.Runtime).UseFunctionInvocation().Build();

        await Assert.ThrowsAsync<AimConfigurationException>(() =>
            client.GetResponseAsync("go", new ChatOptions { Tools = [Tool(tools, nameof(SupportTools.NotSecured))] }));
        Assert.Null(model.ToolsOffered); // the model was never asked
    }

    [Fact]
    public async Task ChatClientAgent_with_secured_tools_never_runs_a_denied_tool()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("SendEmail", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "hi" });
        var agent = new ChatClientAgent(model, instructions: "You help.", name: "support",
            tools: [.. new AITool[] { Tool(tools, nameof(SupportTools.LookupUser)), Tool(tools, nameof(SupportTools.SendEmailAsync)) }.WithAim(runtime: aim.Runtime)]);

        var response = await agent.RunAsync("mail a@b.c");

        Assert.Equal(0, tools.Sends);
        Assert.StartsWith("failed: ", response.Text, StringComparison.Ordinal);
        Assert.Contains(await aim.AuditAsync(), r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
    }

    [Fact]
    public async Task ChatClientAgent_runs_an_allowed_tool_once_and_audits_it()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("LookupUser", new Dictionary<string, object?> { ["userId"] = "7" });
        var agent = new ChatClientAgent(model, instructions: "You help.", name: "support",
            tools: [.. new AITool[] { Tool(tools, nameof(SupportTools.LookupUser)) }.WithAim(runtime: aim.Runtime)]);

        var response = await agent.RunAsync("who is 7?");

        Assert.Equal(1, tools.Reads);
        Assert.Contains("user:7", response.Text, StringComparison.Ordinal);
        Assert.Single(await aim.AuditAsync(), r => r.Kind == AuditEntryKind.Authorized);
    }

    [Fact]
    public async Task ChatClientAgent_on_a_guarded_pipeline_secures_tools_added_per_run()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("SendEmail", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "hi" });
        var pipeline = model.AsBuilder().UseAim(runtime: aim.Runtime).UseFunctionInvocation().Build();
        var agent = new ChatClientAgent(pipeline, instructions: "You help.", name: "support");

        // A tool handed to one run, unwrapped: the guard stage above the invoking client secures it.
        var run = new ChatClientAgentRunOptions(new ChatOptions { Tools = [Tool(tools, nameof(SupportTools.SendEmailAsync))] });
        await agent.RunAsync("mail a@b.c", options: run);

        Assert.Equal(0, tools.Sends);
        Assert.Contains(await aim.AuditAsync(), r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
    }

    [Fact]
    public async Task ChatClientAgent_streaming_run_never_runs_a_denied_tool()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var model = new ToolCallingChatClient("SendEmail", new Dictionary<string, object?> { ["to"] = "a@b.c", ["body"] = "hi" });
        var agent = new ChatClientAgent(model, instructions: "You help.", name: "support",
            tools: [.. new AITool[] { Tool(tools, nameof(SupportTools.SendEmailAsync)) }.WithAim(runtime: aim.Runtime)]);

        var text = new System.Text.StringBuilder();
        await foreach (var update in agent.RunStreamingAsync("mail a@b.c"))
        {
            text.Append(update.Text);
        }

        Assert.Equal(0, tools.Sends);
        Assert.StartsWith("failed: ", text.ToString(), StringComparison.Ordinal);
    }
}
