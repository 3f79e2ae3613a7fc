using System.Globalization;
using System.Text.Json.Nodes;

namespace Aim.Intent.Tests;

public class IntentTextTests
{
    [Fact]
    public void Action_text_joins_capability_resource_method_description_and_named_arguments()
    {
        var text = IntentText.Build("payment:refund", "orders", "RefundAsync", "Refund an order", ["orderId", "amount"], ["o-1", 12.5m]);
        Assert.Equal("payment:refund orders RefundAsync Refund an order orderId=o-1 amount=12.5", text);
    }

    [Fact]
    public void Values_are_formatted_with_the_invariant_culture_whatever_the_current_one()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            var text = IntentText.Build("a:b", null, null, null, ["x", "when"], [1234.5, new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc)]);
            Assert.Equal("a:b x=1234.5 when=03/01/2025 00:00:00", text);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Odd_values_are_formatted_safely()
    {
        Assert.Equal("null", IntentText.FormatValue(null));
        Assert.Equal("true", IntentText.FormatValue(true));
        Assert.Equal("<3 bytes>", IntentText.FormatValue(new byte[3]));
        Assert.Equal("{\"a\":1}", IntentText.FormatValue(new JsonObject { ["a"] = 1 }));
        Assert.Equal("[1, x, null]", IntentText.FormatValue(new object?[] { 1, "x", null }));
        Assert.Equal("<unformattable>", IntentText.FormatValue(new Hostile()));
        Assert.Equal(IntentText.MaxValueLength, IntentText.FormatValue(new string('x', 100_000)).Length);
        Assert.EndsWith(", ...]", IntentText.FormatValue(Enumerable.Range(0, 1000).ToList()));
    }

    [Fact]
    public void Missing_parameter_names_fall_back_to_positions()
    {
        Assert.Equal("a:b arg0=1 arg1=2", IntentText.Build("a:b", null, null, null, [], [1, 2]));
    }

    private sealed class Hostile
    {
        public override string ToString() => throw new InvalidOperationException("nope");
    }
}
