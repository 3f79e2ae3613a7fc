using System.Runtime.ExceptionServices;

namespace Aim.Biscuit.Format;

/// <summary>
/// Runs the independent checks of a token's signature chain on the calling thread and one thread-pool
/// worker at once. The caller claims checks from the front (block signatures, the costly ones) and the
/// worker from the back (the proof and block decoding), so a worker that starts late (a busy pool) only
/// takes what is left, and the caller never waits for work it could do itself. When the caller is done
/// and the worker is still inside a check (descheduled on a loaded machine), the caller runs that check
/// too and the first result counts: checks are deterministic, so either result is the same.
/// Every check runs; the failure reported is the lowest-indexed one, which is what a sequential run meets first.
/// An optional last item (block decoding) runs alongside; its failure counts only when every check passed.
/// </summary>
internal sealed class ConcurrentChecks : IThreadPoolWorkItem
{
    private const int SpinsBeforeTakingOver = 12;
    private readonly SerializedBiscuit _token;
    private readonly PublicKey _root;
    private readonly SerializedBiscuit.ChainCheck[] _checks;
    private readonly Action? _last;
    private readonly int _count;
    private readonly ExceptionDispatchInfo?[] _errors;
    private readonly int[] _completed;
    private readonly ManualResetEventSlim _done = new(false);
    private readonly Lock _claim = new();
    private int _front;
    private int _back;
    private int _workerItem = -1;
    private int _remaining;

    private ConcurrentChecks(SerializedBiscuit token, PublicKey root, SerializedBiscuit.ChainCheck[] checks, Action? last)
    {
        _token = token;
        _root = root;
        _checks = checks;
        _last = last;
        _count = checks.Length + (last is null ? 0 : 1);
        _errors = new ExceptionDispatchInfo?[_count];
        _completed = new int[_count];
        _remaining = _count;
        _back = _count;
    }

    /// <exception cref="BiscuitFormatException">A check failed (the first in sequential order).</exception>
    internal static void Run(SerializedBiscuit token, PublicKey root, SerializedBiscuit.ChainCheck[] checks, Action? last)
    {
        var batch = new ConcurrentChecks(token, root, checks, last);
        ThreadPool.UnsafeQueueUserWorkItem(batch, preferLocal: false);
        batch.Drain(fromFront: true);
        if (!batch._done.IsSet) batch.TakeOverWorkerItem();
        batch._done.Wait();
        foreach (var error in batch._errors) error?.Throw();
    }

    void IThreadPoolWorkItem.Execute() => Drain(fromFront: false);

    /// <summary>Every item is claimed; only the one the worker is running can be unfinished.</summary>
    private void TakeOverWorkerItem()
    {
        var spin = new SpinWait();
        for (var i = 0; i < SpinsBeforeTakingOver && !_done.IsSet; i++) spin.SpinOnce(sleep1Threshold: -1);
        if (_done.IsSet) return;
        int item;
        lock (_claim) item = _workerItem;
        if (item >= 0 && Volatile.Read(ref _completed[item]) == 0) RunItem(item);
    }

    private int Claim(bool fromFront)
    {
        lock (_claim)
        {
            if (_front >= _back) return -1;
            if (fromFront) return _front++;
            return _workerItem = --_back;
        }
    }

    private void Drain(bool fromFront)
    {
        int i;
        while ((i = Claim(fromFront)) >= 0) RunItem(i);
    }

    private void RunItem(int i)
    {
        ExceptionDispatchInfo? error = null;
        try
        {
            if (i < _checks.Length) _checks[i].Run(_token, _root);
            else _last!();
        }
        catch (Exception e)
        {
            // Captured and rethrown on the calling thread: no exception escapes onto the thread pool.
            error = ExceptionDispatchInfo.Capture(e);
        }
        // The first to finish an item records it; a second run of the same item is discarded.
        if (Interlocked.CompareExchange(ref _completed[i], 1, 0) != 0) return;
        _errors[i] = error;
        if (Interlocked.Decrement(ref _remaining) == 0) _done.Set();
    }
}
