using Aim.AI;
using Aim.AI.Tests;
using Aim.Audit;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;

namespace Aim.SemanticKernel.Tests;

/// <summary>
/// Kernel functions used as plain <see cref="AIFunction"/>s (<c>plugin.AsAIFunctions(kernel)</c> handed to a
/// <see cref="FunctionInvokingChatClient"/>): SK runs no kernel filter there, so <see cref="AimKernelExtensions.WithAim(KernelPlugin, Kernel, AimKernelOptions?)"/>
/// is what guards them.
/// </summary>
public sealed class AIFunctionPathTests
{
    private static (Kernel Kernel, KernelPlugin Plugin) Build(SupportPlugin tools, AimRuntime runtime)
    {
        var builder = Kernel.CreateBuilder();
        var plugin = KernelPluginFactory.CreateFromObject(tools, "Support");
        builder.Plugins.Add(plugin);
        builder.AddAimSecurity(o => o.Runtime = runtime);
        return (builder.Build(), plugin);
    }

    private static async Task<ChatResponse> AskAsync(IChatClient model, IList<AITool> tools) =>
        await new FunctionInvokingChatClient(model).GetResponseAsync("go", new ChatOptions { Tools = tools });

    [Fact]
    public async Task Semantic_Kernel_skips_its_filters_on_the_AIFunction_path()
    {
        // Why WithAim exists: the kernel has Aim's filter and email:send is not granted, yet SK's own AIFunction
        // conversion runs the function without asking the filter.
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);
        var functions = plugin.AsAIFunctions(kernel).ToList();
        var model = new ToolCallingChatClient(functions.Single(f => f.Name.EndsWith("SendEmail", StringComparison.Ordinal)).Name,
            new Dictionary<string, object?> { ["to"] = "x", ["body"] = "y" });

        await AskAsync(model, [.. functions]);

        Assert.Equal(1, tools.Sends);
        Assert.Empty(await aim.AuditAsync());
    }

    [Fact]
    public async Task Denied_tool_call_never_reaches_the_body_through_a_FunctionInvokingChatClient()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);
        var functions = plugin.WithAim(kernel, new AimKernelOptions { Runtime = aim.Runtime });
        var send = functions.Single(f => f.Name.EndsWith("SendEmail", StringComparison.Ordinal));
        var model = new ToolCallingChatClient(send.Name, new Dictionary<string, object?> { ["to"] = "x", ["body"] = "y" });

        await AskAsync(model, [.. functions]);

        Assert.Equal(0, tools.Sends);
        Assert.IsType<SecuredAIFunction>(send);
        var seen = Assert.Single(model.ResultsSeen);
        Assert.Contains("failed", seen.Exception is null ? "result: " + seen.Result : "failed: " + seen.Exception.Message, StringComparison.Ordinal);
        var audit = await aim.AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
    }

    [Fact]
    public async Task Allowed_tool_call_runs_once_and_is_authorized_once()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);
        var functions = plugin.WithAim(kernel, new AimKernelOptions { Runtime = aim.Runtime });
        var lookup = functions.Single(f => f.Name.EndsWith("LookupUser", StringComparison.Ordinal));
        var model = new ToolCallingChatClient(lookup.Name, new Dictionary<string, object?> { ["userId"] = "9" });

        var response = await AskAsync(model, [.. functions]);

        Assert.Equal(1, tools.Reads);
        Assert.Contains("user:9", response.Text, StringComparison.Ordinal);
        var audit = await aim.AuditAsync();
        // The kernel has Aim's filter too; whichever path runs the call authorizes it, and only once.
        var authorized = Assert.Single(audit, r => r.Kind == AuditEntryKind.Authorized);
        Assert.Equal("db:read", authorized.Capability);
    }

    [Fact]
    public async Task Unsecured_functions_are_kept_as_they_are_and_names_match_AsAIFunctions()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);

        var secured = plugin.WithAim(kernel);
        var plain = plugin.AsAIFunctions(kernel).ToList();

        Assert.Equal(plain.Select(f => f.Name), secured.Select(f => f.Name));
        Assert.IsNotType<SecuredAIFunction>(secured.Single(f => f.Name.EndsWith("Ping", StringComparison.Ordinal)));
        Assert.Equal(2, secured.OfType<SecuredAIFunction>().Count());
    }

    [Fact]
    public async Task One_kernel_function_wrapped_directly_is_guarded()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);

        var send = plugin["SendEmail"].WithAim(kernel, new AimKernelOptions { Runtime = aim.Runtime });

        await Assert.ThrowsAsync<ActionDeniedException>(async () => await send.InvokeAsync(new AIFunctionArguments { ["to"] = "x", ["body"] = "y" }));
        Assert.Equal(0, tools.Sends);
    }

    [Fact]
    public void Secured_method_missing_from_the_catalog_is_refused_at_wrap_time()
    {
        var function = KernelFunctionFactory.CreateFromMethod(UncatalogedMethod.Create(), target: null, "Delete");

        var refused = Assert.Throws<ActionDeniedException>(() => function.WithAim(new Kernel()));

        Assert.Equal(ActionResolution.UnresolvableReasonCode, refused.ReasonCode);
    }
}
