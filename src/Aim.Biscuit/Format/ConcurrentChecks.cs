using System.Runtime.ExceptionServices;

namespace Aim.Biscuit.Format;

/// <summary>
/// Runs the independent checks of a token's signature chain on the calling thread and one thread-pool
/// worker at once. The caller claims checks from the front (block signatures, the costly ones) and the
/// worker from the back (the proof and block decoding), so a worker that starts late (a busy pool) only
/// takes what is left, and the caller never waits for work it could do itself.
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
    private readonly Lock _claim = new();
    private int _front;
    private int _back;
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
        _back = _count;
    }

    /// <exception cref="BiscuitFormatException">A check failed (the first in sequential order).</exception>
    internal static void Run(SerializedBiscuit token, PublicKey root, SerializedBiscuit.ChainCheck[] checks, Action? last)
    {
        var batch = new ConcurrentChecks(token, root, checks, last);
        ThreadPool.UnsafeQueueUserWorkItem(batch, preferLocal: false);
        batch.Drain(fromFront: true);
        // The worker may still be finishing the check it claimed last.
        batch._done.Wait();
        foreach (var error in batch._errors) error?.Throw();
    }

    void IThreadPoolWorkItem.Execute() => Drain(fromFront: false);

    private int Claim(bool fromFront)
    {
        lock (_claim)
        {
            if (_front >= _back) return -1;
            return fromFront ? _front++ : --_back;
        }
    }

    private void Drain(bool fromFront)
    {
        int i;
        while ((i = Claim(fromFront)) >= 0)
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
