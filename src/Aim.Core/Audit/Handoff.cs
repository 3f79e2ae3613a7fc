namespace Aim.Audit;

/// <summary>
/// A small bounded FIFO between the audit log's two writer threads that blocks without spinning. It replaces
/// <see cref="System.Collections.Concurrent.BlockingCollection{T}"/>, whose waits spin and call <c>sched_yield</c> before
/// blocking: on the gateway (one batch per 2 ms window) the committer's CPU per request fell from 66 us to 52-56 us
/// without that spinning, CPU the requests on the same cores get back (benchmarks/README.md, issue 14's evening sitting).
/// </summary>
internal sealed class Handoff<T>(int capacity)
    where T : class
{
    // A plain object, not System.Threading.Lock: Monitor.Wait needs the monitor that `lock` takes on it.
    private readonly object _lock = new();
    private readonly Queue<T> _items = new(capacity);
    private bool _completed;

    /// <summary>Adds an item, waiting while the handoff is full. Throws once <see cref="CompleteAdding"/> was called.</summary>
    public void Add(T item)
    {
        lock (_lock)
        {
            while (_items.Count >= capacity && !_completed)
            {
                Monitor.Wait(_lock);
            }

            ObjectDisposedException.ThrowIf(_completed, this);
            _items.Enqueue(item);
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>No more items: <see cref="TryTake"/> returns false once the handoff is empty.</summary>
    public void CompleteAdding()
    {
        lock (_lock)
        {
            _completed = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Takes the oldest item, waiting for one; false when the handoff is complete and empty.</summary>
    public bool TryTake([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? item)
    {
        lock (_lock)
        {
            while (_items.Count == 0 && !_completed)
            {
                Monitor.Wait(_lock);
            }

            if (_items.Count == 0)
            {
                item = null;
                return false;
            }

            item = _items.Dequeue();
            Monitor.PulseAll(_lock);
            return true;
        }
    }
}
