using Aim.Approvals;
using Aim.Audit;
using Aim.Authorization;
using Aim.Engine;
using Aim.Sdk.Tests.Refunds;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aim.Sdk.Tests.Refunds
{
    /// <summary>The ASP.NET Core shape: the action is declared on the interface the service is registered as.</summary>
    public interface IRefundService
    {
        [SecureAction("payment:refund", JitAccess = true)]
        Task<string> RefundAsync(string orderId, decimal amount);
    }

    public sealed class RefundService : IRefundService
    {
        public List<string> Refunded { get; } = [];

        public Task<string> RefundAsync(string orderId, decimal amount)
        {
            Refunded.Add(orderId);
            return Task.FromResult("refunded " + orderId);
        }
    }

    public static class Refunding
    {
        // A caller generic over the service: the call's receiver is a type parameter.
        public static Task<string> ThroughTypeParameter<TService>(TService service, string orderId)
            where TService : IRefundService => service.RefundAsync(orderId, 1m);
    }
}

namespace Aim.Sdk.Tests
{
    /// <summary>
    /// This project is compiled with the real generator (Aim.Sdk.Local.targets) by the SDK's compiler: a service resolved
    /// from DI as its interface is guarded by the interface member's action, and the resolver maps the implementation's
    /// MethodInfo to that same action.
    /// </summary>
    [Collection(GlobalRuntimeCollection.Name)]
    public sealed class InterfaceDispatchTests : IDisposable
    {
        private const string Identity = "Aim.Sdk.Tests.Refunds.IRefundService.RefundAsync(string, decimal)";
        private readonly TempHome _home = new();

        public void Dispose()
        {
            AimRuntime.SetGlobal(null);
            _home.Dispose();
        }

        private async Task<IHost> StartAsync(string grant)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Services.AddAim(o =>
            {
                o.AgentName = "refund-agent";
                o.Home = _home.Path;
                o.Grant(grant);
                o.ApprovalHandler = new DelegateApprovalHandler(_ => new ApprovalDecision(true, "lead@example.com", "verified"));
            });
            builder.Services.AddSingleton<RefundService>();
            builder.Services.AddSingleton<IRefundService>(sp => sp.GetRequiredService<RefundService>());
            var host = builder.Build();
            await host.StartAsync();
            return host;
        }

        private static async Task<List<AuditRecord>> RecordsAsync(IHost host)
        {
            var engine = Assert.IsType<EmbeddedEngine>(host.Services.GetRequiredService<IAimEngine>());
            await engine.AuditLog.FlushAsync();
            return [.. engine.AuditLog.Read(0, 100).Select(e => e.Record)];
        }

        [Fact]
        public async Task Denied_calls_through_the_interface_never_run_the_body()
        {
            using var host = await StartAsync("email:send");
            var service = host.Services.GetRequiredService<IRefundService>();
            var implementation = host.Services.GetRequiredService<RefundService>();

            var throughInterface = await Assert.ThrowsAsync<ActionDeniedException>(() => service.RefundAsync("o-1", 10m));
            var direct = await Assert.ThrowsAsync<ActionDeniedException>(() => implementation.RefundAsync("o-2", 10m));
            var generic = await Assert.ThrowsAsync<ActionDeniedException>(() => Refunding.ThroughTypeParameter(service, "o-3"));

            Assert.Empty(implementation.Refunded);
            Assert.All(new[] { throughInterface, direct, generic }, e => Assert.Equal("capability_not_granted", e.ReasonCode));
            var records = await RecordsAsync(host);
            Assert.Equal(3, records.Count);
            Assert.All(records, r =>
            {
                Assert.Equal(AuditEntryKind.Denied, r.Kind);
                Assert.Equal(Identity, r.Method);
            });
            await host.StopAsync();
        }

        [Fact]
        public async Task Allowed_call_through_the_interface_runs_once_and_is_audited_once()
        {
            using var host = await StartAsync("payment:refund");
            var service = host.Services.GetRequiredService<IRefundService>();
            var implementation = host.Services.GetRequiredService<RefundService>();

            Assert.Equal("refunded o-9", await service.RefundAsync("o-9", 25m));

            Assert.Equal(["o-9"], implementation.Refunded);
            var records = await RecordsAsync(host);
            var outcome = Assert.Single(records, r => r.Kind == AuditEntryKind.Outcome);
            Assert.Equal("success", outcome.Outcome);
            Assert.All(records, r => Assert.Equal(Identity, r.Method));
            Assert.Equal("lead@example.com", Assert.Single(records, r => r.Kind == AuditEntryKind.Authorized).Details?["approved_by"]?.GetValue<string>());
            await host.StopAsync();
        }

        [Fact]
        public void The_resolver_maps_the_implementations_method_to_the_interface_declared_action()
        {
            // AIM005 flags these lookups on purpose; here ActionResolver is the guard being tested.
#pragma warning disable AIM005
            var implementation = typeof(RefundService).GetMethod(nameof(RefundService.RefundAsync))!;
            var declaration = typeof(IRefundService).GetMethod(nameof(IRefundService.RefundAsync))!;
#pragma warning restore AIM005

            var resolved = ActionResolver.Resolve(implementation);

            Assert.Equal(ActionResolutionKind.Found, resolved.Kind);
            Assert.Equal(Identity, resolved.Action!.Method);
            Assert.Equal("payment:refund", resolved.Action.CapabilityName);
            Assert.True(resolved.Action.JitAccess);
            Assert.Same(resolved.Action, ActionResolver.Resolve(declaration).Action);
            Assert.True(ActionCatalog.TryGet(Identity, out var cataloged));
            Assert.Same(cataloged, resolved.Action);
            Assert.False(ActionCatalog.TryGet("Aim.Sdk.Tests.Refunds.RefundService.RefundAsync(string, decimal)", out _));
        }
    }
}
