using Aim.Audit;

namespace Aim.Core.Tests.Audit;

/// <summary>The queue between the audit sealer and committer: order, bound and completion.</summary>
public sealed class HandoffTests
{
    [Fact]
    public void Items_come_out_in_the_order_they_went_in_and_completion_ends_the_taking()
    {
        var handoff = new Handoff<string>(capacity: 2);
        var taken = new List<string>();
        var consumer = new Thread(() =>
        {
            while (handoff.TryTake(out var item))
            {
                taken.Add(item);
            }
        });
        consumer.Start();
        for (var i = 0; i < 1000; i++)
        {
            handoff.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        handoff.CompleteAdding();
        Assert.True(consumer.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), taken);
        Assert.False(handoff.TryTake(out _));
    }

    [Fact]
    public void A_full_handoff_holds_the_producer_until_an_item_is_taken()
    {
        var handoff = new Handoff<string>(capacity: 2);
        handoff.Add("a");
        handoff.Add("b");
        using var added = new ManualResetEventSlim();
        var producer = new Thread(() =>
        {
            handoff.Add("c");
            added.Set();
        });
        producer.Start();

        // Still held after a generous moment: the bound is 2.
        Assert.False(added.Wait(TimeSpan.FromMilliseconds(300)));
        Assert.True(handoff.TryTake(out var first));
        Assert.Equal("a", first);
        Assert.True(added.Wait(TimeSpan.FromSeconds(30)));
        Assert.True(handoff.TryTake(out var second));
        Assert.True(handoff.TryTake(out var third));
        Assert.Equal(["b", "c"], new[] { second, third });
        Assert.True(producer.Join(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Completing_releases_a_waiting_consumer_and_refuses_later_items()
    {
        var handoff = new Handoff<string>(capacity: 2);
        bool? result = null;
        var consumer = new Thread(() => result = handoff.TryTake(out _));
        consumer.Start();
        handoff.CompleteAdding();
        Assert.True(consumer.Join(TimeSpan.FromSeconds(30)));
        Assert.False(result);
        Assert.Throws<ObjectDisposedException>(() => handoff.Add("late"));
    }
}
