using System.Runtime.ExceptionServices;

namespace Aim.Biscuit.Format;

/// <summary>
/// Runs the independent checks of a token's signature chain on the calling thread and one thread-pool
/// worker at once. Both pull the next unclaimed check from a shared counter, so a worker that starts late
/// (a busy pool) only takes what is left and the caller never waits for work it could do itself.
/// Every check runs; the failure reported is the lowest-indexed one, which is what a sequential run meets first.
/// An optional last item (block decoding) runs alongside; its failure counts only when every check passed.
/// </summary>
internal sealed class ConcurrentChecks : IThreadPoolWorkItem
{
    private readonly SerializedBiscuit _token;
    private readonly PublicKey _root;
    private readonly SerializedBiscuit.ChainCheck[] _checks;
    private readonly Action? _last;
    private readonly int _count;
    private readonly ExceptionDispatchInfo?[] _errors;
    private readonly ManualResetEventSlim _done = new(false);
    private int _next = -1;
    private int _remaining;

    private ConcurrentChecks(SerializedBiscuit token, PublicKey root, SerializedBiscuit.ChainCheck[] checks, Action? last)
    {
        _token = token;
        _root = root;
        _checks = checks;
        _last = last;
        _count = checks.Length + (last is null ? 0 : 1);
        _errors = new ExceptionDispatchInfo?[_count];
        _remaining = _count;
    }

    /// <exception cref="BiscuitFormatException">A check failed (the first in sequential order).</exception>
    internal static void Run(SerializedBiscuit token, PublicKey root, SerializedBiscuit.ChainCheck[] checks, Action? last)
    {
        var batch = new ConcurrentChecks(token, root, checks, last);
        ThreadPool.UnsafeQueueUserWorkItem(batch, preferLocal: false);
        batch.Drain();
        // The worker may still be finishing the check it claimed last.
        batch._done.Wait();
        foreach (var error in batch._errors) error?.Throw();
    }

    void IThreadPoolWorkItem.Execute() => Drain();

    private void Drain()
    {
        int i;
        while ((i = Interlocked.Increment(ref _next)) < _count)
        {
            try
            {
                if (i < _checks.Length) _checks[i].Run(_token, _root);
                else _last!();
            }
            catch (Exception e)
            {
                // Captured and rethrown on the calling thread: no exception escapes onto the thread pool.
                _errors[i] = ExceptionDispatchInfo.Capture(e);
            }
            if (Interlocked.Decrement(ref _remaining) == 0) _done.Set();
        }
    }
}
