using System.ComponentModel;
using Aim.AI.Tests;
using Aim.Audit;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;

namespace Aim.SemanticKernel.Tests;

/// <summary>A plugin as SK users write one: [KernelFunction] methods, some of them secured.</summary>
public sealed class SupportPlugin
{
    public int Reads;
    public int Sends;
    public int Pings;

    [KernelFunction, Description("Looks a user up.")]
    [SecureAction("db:read", Resource = "users_table")]
    public string LookupUser(string userId)
    {
        Interlocked.Increment(ref Reads);
        return "user:" + userId;
    }

    [KernelFunction, Description("Sends an email.")]
    [SecureAction("email:send")]
    public async Task<string> SendEmailAsync(string to, string body)
    {
        await Task.Yield();
        Interlocked.Increment(ref Sends);
        return "sent to " + to;
    }

    [KernelFunction, Description("Not secured.")]
    public string Ping()
    {
        Interlocked.Increment(ref Pings);
        return "pong";
    }
}

public sealed class OverloadedTools
{
    public int Runs;

    [SecureAction("db:read")]
    public int Count(int a)
    {
        Interlocked.Increment(ref Runs);
        return a;
    }

    [SecureAction("db:write")]
    public int Count(string a, int b)
    {
        Interlocked.Increment(ref Runs);
        return b;
    }
}

/// <summary>Calls through the kernel (<see cref="IFunctionInvocationFilter"/>) against the real Semantic Kernel assemblies.</summary>
public sealed class KernelFilterTests
{
    private static (Kernel Kernel, KernelPlugin Plugin) Build(SupportPlugin tools, AimRuntime runtime, Action<IKernelBuilder>? more = null)
    {
        var builder = Kernel.CreateBuilder();
        var plugin = KernelPluginFactory.CreateFromObject(tools, "Support");
        builder.Plugins.Add(plugin);
        builder.AddAimSecurity(o => o.Runtime = runtime);
        more?.Invoke(builder);
        return (builder.Build(), plugin);
    }

    [Fact]
    public async Task Granted_function_runs_through_the_call_path_and_is_audited()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);

        var result = await kernel.InvokeAsync(plugin["LookupUser"], new KernelArguments { ["userId"] = "5" });

        Assert.Equal("user:5", result.GetValue<string>());
        Assert.Equal(1, tools.Reads);
        var audit = await aim.AuditAsync();
        var authorized = Assert.Single(audit, r => r.Kind == AuditEntryKind.Authorized);
        Assert.Equal("db:read", authorized.Capability);
        Assert.Equal("users_table", authorized.Resource);
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Outcome && r.Outcome == "success");
    }

    [Fact]
    public async Task Denied_function_never_runs_its_body_and_the_denial_is_audited()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() =>
            kernel.InvokeAsync(plugin["SendEmail"], new KernelArguments { ["to"] = "a@b.c", ["body"] = "hi" }));

        Assert.Equal("email:send", denied.Capability);
        Assert.Equal("capability_not_granted", denied.ReasonCode);
        Assert.Equal(0, tools.Sends);
        var audit = await aim.AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
        Assert.DoesNotContain(audit, r => r.Kind == AuditEntryKind.Outcome);
    }

    [Fact]
    public async Task Function_without_SecureAction_passes_through_unaudited()
    {
        await using var aim = new TestRuntime();
        var tools = new SupportPlugin();
        var (kernel, plugin) = Build(tools, aim.Runtime);

        var result = await kernel.InvokeAsync(plugin["Ping"]);

        Assert.Equal("pong", result.GetValue<string>());
        Assert.Equal(1, tools.Pings);
        Assert.Empty(await aim.AuditAsync());
    }

    [Fact]
    public async Task Unconfigured_runtime_refuses_and_the_body_does_not_run()
    {
        var tools = new SupportPlugin();
        var builder = Kernel.CreateBuilder();
        var plugin = KernelPluginFactory.CreateFromObject(tools, "Support");
        builder.Plugins.Add(plugin);
        builder.AddAimSecurity();
        var kernel = builder.Build();

        Assert.False(AimRuntime.IsConfigured);
        await Assert.ThrowsAsync<AimConfigurationException>(() => kernel.InvokeAsync(plugin["LookupUser"], new KernelArguments { ["userId"] = "1" }));
        Assert.Equal(0, tools.Reads);
    }

    [Fact]
    public async Task Filter_added_to_an_existing_kernel_guards_it_once()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var kernel = new Kernel();
        var plugin = kernel.Plugins.AddFromObject(tools, "Support");

        kernel.AddAimSecurity(o => o.Runtime = aim.Runtime).AddAimSecurity(o => o.Runtime = aim.Runtime);

        Assert.Single(kernel.FunctionInvocationFilters);
        await Assert.ThrowsAsync<ActionDeniedException>(() => kernel.InvokeAsync(plugin["SendEmail"], new KernelArguments { ["to"] = "x", ["body"] = "y" }));
        Assert.Equal(0, tools.Sends);
    }

    [Fact]
    public async Task Overloads_resolve_to_their_own_action()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new OverloadedTools();
        var kernel = new Kernel().AddAimSecurity(o => o.Runtime = aim.Runtime);
        var byInt = KernelFunctionFactory.CreateFromMethod(typeof(OverloadedTools).GetMethod(nameof(OverloadedTools.Count), [typeof(int)])!, tools, "CountInt");
        var byString = KernelFunctionFactory.CreateFromMethod(typeof(OverloadedTools).GetMethod(nameof(OverloadedTools.Count), [typeof(string), typeof(int)])!, tools, "CountString");

        var allowed = await kernel.InvokeAsync(byInt, new KernelArguments { ["a"] = 3 });
        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => kernel.InvokeAsync(byString, new KernelArguments { ["a"] = "x", ["b"] = 4 }));

        Assert.Equal(3, allowed.GetValue<int>());
        Assert.Equal("db:write", denied.Capability);
        Assert.Equal(1, tools.Runs);
    }

    [Fact]
    public async Task Function_on_a_generic_type_is_authorized_not_passed_through()
    {
        await using var aim = new TestRuntime("db:read");
        var box = new GenericTools<string>();
        var kernel = new Kernel().AddAimSecurity(o => o.Runtime = aim.Runtime);
        var put = KernelFunctionFactory.CreateFromMethod(typeof(GenericTools<string>).GetMethod(nameof(GenericTools<string>.Put))!, box, "Put");

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => kernel.InvokeAsync(put, new KernelArguments { ["item"] = "x" }));

        Assert.Equal("db:write", denied.Capability);
        Assert.Equal(0, box.Puts);
    }

    [Fact]
    public async Task Secured_method_missing_from_the_catalog_is_refused()
    {
        await using var aim = new TestRuntime("db:read");
        var kernel = new Kernel().AddAimSecurity(o => o.Runtime = aim.Runtime);
        var function = KernelFunctionFactory.CreateFromMethod(UncatalogedMethod.Create(), target: null, "Delete");
        int before = UncatalogedMethod.Runs;

        var refused = await Assert.ThrowsAsync<ActionDeniedException>(() => kernel.InvokeAsync(function));

        Assert.Equal(ActionResolution.UnresolvableReasonCode, refused.ReasonCode);
        Assert.Equal(before, UncatalogedMethod.Runs);
    }

    [Fact]
    public async Task Lambda_mapped_by_name_is_authorized_as_its_mapping()
    {
        await using var aim = new TestRuntime("db:read");
        int runs = 0;
        var kernel = new Kernel().AddAimSecurity(o =>
        {
            o.Runtime = aim.Runtime;
            o.Functions["Tools.Wipe"] = new ActionDescriptor("db:delete");
        });
        var plugin = kernel.Plugins.AddFromFunctions("Tools", [KernelFunctionFactory.CreateFromMethod(() => { runs++; return "wiped"; }, "Wipe")]);

        var denied = await Assert.ThrowsAsync<ActionDeniedException>(() => kernel.InvokeAsync(plugin["Wipe"]));

        Assert.Equal("db:delete", denied.Capability);
        Assert.Equal(0, runs);
    }

    [Fact]
    public async Task Automatic_function_calling_through_the_kernel_runs_the_filter()
    {
        await using var aim = new TestRuntime("db:read");
        var tools = new SupportPlugin();
        var model = new ToolCallingChatClient("SendEmail", new Dictionary<string, object?> { ["to"] = "x@y.z", ["body"] = "hi" });
        // SK's own function-invoking client for IChatClient services: it invokes tools through the kernel's filters.
        var (kernel, _) = Build(tools, aim.Runtime, b => b.Services.AddSingleton(model.AsBuilder().UseKernelFunctionInvocation().Build()));

        var settings = new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() };
        var answer = await kernel.InvokePromptAsync("Email x@y.z", new KernelArguments(settings));

        Assert.Equal(0, tools.Sends);
        Assert.Contains(model.ToolsOffered!, t => t.Name.EndsWith("SendEmail", StringComparison.Ordinal));
        var seen = Assert.Single(model.ResultsSeen);
        // SK tells the model only that the function failed (no detail); the denial is in the audit log.
        Assert.Contains("failed", seen.Result?.ToString() ?? seen.Exception?.Message, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("failed: ", answer.ToString(), StringComparison.Ordinal);
        var audit = await aim.AuditAsync();
        Assert.Contains(audit, r => r.Kind == AuditEntryKind.Denied && r.Capability == "email:send");
    }

    [Fact]
    public void Hostile_inputs_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => ((IKernelBuilder)null!).AddAimSecurity());
        Assert.Throws<ArgumentNullException>(() => ((Kernel)null!).AddAimSecurity());
        Assert.Throws<ArgumentNullException>(() => ((KernelPlugin)null!).WithAim(new Kernel()));
        Assert.Throws<ArgumentNullException>(() => KernelPluginFactory.CreateFromObject(new SupportPlugin()).WithAim(null!));
    }
}
