using System.Text.Json;
using Microsoft.CodeAnalysis;

namespace Aim.Sdk.Generators.Tests;

public sealed class CatalogTests
{
    private const string Source = """
        using Aim;
        namespace Shop;
        public sealed class RefundAgent
        {
            [SecureAction("payment:refund", JitAccess = true, JitTimeoutSeconds = 60, Description = "Refunds <an order> & \"more\"")]
            public void Refund(string orderId, decimal amount) { }

            [SecureAction("db:read", Resource = "users_table", RiskLevel = RiskLevel.High, LogArguments = true)]
            public int Users() => 1;

            [SecureAction("Not A Capability")]
            public void Broken() { }
        }
        """;

    private static JsonElement Manifest(Compilation output)
    {
        AttributeData attribute = output.Assembly.GetAttributes().Single(a =>
            a.AttributeClass?.ToDisplayString() == "System.Reflection.AssemblyMetadataAttribute"
            && (string?)a.ConstructorArguments[0].Value == "Aim.Capabilities");
        return JsonDocument.Parse((string)attribute.ConstructorArguments[1].Value!).RootElement.Clone();
    }

    [Fact]
    public void Manifest_lists_every_well_formed_action_sorted_by_method()
    {
        var (output, _, _) = Harness.Generate(Harness.Compile(Source, "Shop"));

        JsonElement manifest = Manifest(output);
        Assert.Equal("aim.capabilities/v1", manifest.GetProperty("schema").GetString());
        Assert.Equal("Shop", manifest.GetProperty("assembly").GetString());
        var actions = manifest.GetProperty("actions").EnumerateArray().ToList();
        Assert.Equal(["Shop.RefundAgent.Refund(string, decimal)", "Shop.RefundAgent.Users()"], actions.Select(a => a.GetProperty("method").GetString()));

        JsonElement refund = actions[0];
        Assert.Equal("payment:refund", refund.GetProperty("capability").GetString());
        Assert.Equal("auto", refund.GetProperty("declaredRisk").GetString());
        Assert.Equal("critical", refund.GetProperty("detectedRisk").GetString());
        Assert.Equal("critical", refund.GetProperty("effectiveRisk").GetString());
        Assert.True(refund.GetProperty("jitAccess").GetBoolean());
        Assert.Equal(60, refund.GetProperty("jitTimeoutSeconds").GetInt32());
        Assert.Equal("Refunds <an order> & \"more\"", refund.GetProperty("description").GetString());
        Assert.Equal(["orderId", "amount"], refund.GetProperty("parameters").EnumerateArray().Select(p => p.GetString()));

        JsonElement users = actions[1];
        Assert.Equal("users_table", users.GetProperty("resource").GetString());
        Assert.Equal("high", users.GetProperty("declaredRisk").GetString());
        Assert.Equal("low", users.GetProperty("detectedRisk").GetString());
        Assert.Equal("high", users.GetProperty("effectiveRisk").GetString());
        Assert.True(users.GetProperty("logArguments").GetBoolean());
    }

    [Fact]
    public void Malformed_capabilities_stay_out_of_the_catalog()
    {
        var (output, _, sources) = Harness.Generate(Harness.Compile(Source, "Shop"));

        Assert.DoesNotContain("Not A Capability", sources["AimActionCatalog.g.cs"]);
        Assert.Empty(Harness.Problems(output));
    }
}
