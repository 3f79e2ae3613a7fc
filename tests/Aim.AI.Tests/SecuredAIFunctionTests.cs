using System.Reflection;
using Aim.Audit;
using Microsoft.Extensions.AI;

namespace Aim.AI.Tests;

public sealed class SupportTools
{
    public int Reads;
    public int Sends;

    [SecureAction("db:read", Resource = "users_table")]
    public string LookupUser(string userId)
    {
        Reads++;
        return "user:" + userId;
    }

    [SecureAction("email:send")]
    public async Task<string> SendEmailAsync(string to, string body)
    {
        await Task.Yield();
        Sends++;
        return "sent to " + to;
    }

    [SecureAction("db:read")]
    public int Overloaded(int a) => a;

    [SecureAction("db:read")]
    public int Overloaded(string a, int? b, List<string>[] c) => b ?? 0;

    public string NotSecured() => "open";
}

public sealed class SecuredAIFunctionTests
{
    private static AIFunction Tool(SupportTools target, string name) =>
        AIFunctionFactory.Create(typeof(SupportTools).GetMethod(name)!, target);

    [Fact]
    public async Task Allowed_call_runs_the_body_and_is_audited()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var function = Tool(tools, nameof(SupportTools.LookupUser)).WithAim(runtime: aim.Runtime);

        var result = await function.InvokeAsync(new AIFunctionArguments { ["userId"] = "42" });

        Assert.Equal("user:42", result?.ToString()?.Trim('"'));
        Assert.Equal(1, tools.Reads);
        var audit = await aim.AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Authorized && r.Capability == "db:read" && r.Resource == "users_table");
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.Outcome == "success");
    }

    [Fact]
    public async Task Denied_call_never_runs_the_function_body()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var function = Tool(tools, nameof(SupportTools.SendEmailAsync)).WithAim(runtime: aim.Runtime);

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(async () =>
            await function.InvokeAsync(new AIFunctionArguments { ["to"] = "a@b.c", ["body"] = "hi" }));

        Assert.Equal("email:send", denied.Capability);
        Assert.Equal(0, tools.Sends);
        var audit = await aim.AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
        Assert.DoesNotContain(audit, r => r.Kind == AuditEntryKind.Outcome);
    }

    [Fact]
    public async Task Unconfigured_runtime_refuses_and_the_body_does_not_run()
    {
        var tools = new SupportTools();
        var function = Tool(tools, nameof(SupportTools.LookupUser)).WithAim();

        Assert.False(AimRuntime.IsConfigured);
        await Assert.ThrowsAsync<AimConfigurationException>(async () => await function.InvokeAsync(new AIFunctionArguments { ["userId"] = "1" }));
        Assert.Equal(0, tools.Reads);
    }

    [Fact]
    public async Task Ambient_runtime_is_used_when_none_is_given()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var function = Tool(tools, nameof(SupportTools.LookupUser)).WithAim();
        using (AimRuntime.Use(aim.Runtime))
        {
            await function.InvokeAsync(new AIFunctionArguments { ["userId"] = "7" });
        }

        Assert.Equal(1, tools.Reads);
    }

    [Fact]
    public void Function_without_SecureAction_is_refused_at_wrap_time()
    {
        var function = Tool(new SupportTools(), nameof(SupportTools.NotSecured));
        var error = Assert.Throws<AimConfigurationException>(() => function.WithAim());
        Assert.Contains("NotSecured", error.Message);
    }

    [Fact]
    public void Lambda_needs_an_explicit_mapping()
    {
        var lambda = AIFunctionFactory.Create((string q) => q, "search");
        Assert.Throws<AimConfigurationException>(() => new AITool[] { lambda }.WithAim());

        var wrapped = new AITool[] { lambda }.WithAim(new Dictionary<string, ActionDescriptor> { ["search"] = new("web:search") });
        var secured = Assert.IsType<SecuredAIFunction>(Assert.Single(wrapped));
        Assert.Equal("web:search", secured.Action.CapabilityName);
        Assert.Equal("search", secured.Name);
    }

    [Fact]
    public async Task Tool_list_wraps_every_function_and_keeps_metadata()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportTools();
        var original = Tool(tools, nameof(SupportTools.SendEmailAsync));
        var list = new AITool[] { Tool(tools, nameof(SupportTools.LookupUser)), original }.WithAim(runtime: aim.Runtime);

        Assert.All(list, t => Assert.IsType<SecuredAIFunction>(t));
        var send = (AIFunction)list[1];
        Assert.Equal(original.Name, send.Name);
        Assert.Contains("to", send.JsonSchema.ToString());
        await Assert.ThrowsAsync<ActionDeniedException>(async () => await send.InvokeAsync(new AIFunctionArguments { ["to"] = "x", ["body"] = "y" }));
        Assert.Equal(0, tools.Sends);
    }

    [Fact]
    public void Identity_matches_the_generator_format_for_overloads()
    {
        var simple = typeof(SupportTools).GetMethod(nameof(SupportTools.Overloaded), [typeof(int)])!;
        var complex = typeof(SupportTools).GetMethod(nameof(SupportTools.Overloaded), [typeof(string), typeof(int?), typeof(List<string>[])])!;

        Assert.Equal("Aim.AI.Tests.SupportTools.Overloaded(int)", ActionResolver.IdentityOf(simple));
        Assert.Equal("Aim.AI.Tests.SupportTools.Overloaded(string, int?, System.Collections.Generic.List<string>[])", ActionResolver.IdentityOf(complex));
        Assert.True(ActionResolver.TryFind(simple, out var a));
        Assert.True(ActionResolver.TryFind(complex, out var b));
        Assert.NotSame(a, b);
    }

    [Fact]
    public void Arguments_follow_the_declared_parameter_order()
    {
        var action = new ActionDescriptor("email:send", parameterNames: ["to", "body"]);
        var ordered = ActionResolver.OrderArguments(action, [new("body", "b"), new("extra", 1), new("to", "t")]);
        Assert.Equal(new object?[] { "t", "b", 1 }, ordered);
    }

    [Fact]
    public void Hostile_inputs_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => ((AIFunction)null!).WithAim());
        Assert.Throws<ArgumentException>(() => new AITool[] { null! }.WithAim());
        Assert.False(ActionResolver.TryFind(null, out _));
        Assert.False(ActionResolver.TryFind(typeof(string).GetMethod(nameof(string.Trim), Type.EmptyTypes)!, out _));
    }
}
