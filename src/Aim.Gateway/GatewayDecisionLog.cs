using System.Threading.Channels;
using Aim.Audit;
using Microsoft.Extensions.Logging;

namespace Aim.Gateway;

/// <summary>
/// Writes every gateway decision to the gateway's Aim audit log off the response path. The request path only queues
/// the record (a bounded in-memory queue); one background writer gathers what arrived within a short window and hands
/// the batch to the log, which signs each entry and commits the batch in one transaction, then waits for that commit
/// before the next batch (group commit: fewer transactions and disk syncs, and no signing or disk work competing with
/// the request). Fails closed: a full queue refuses the request, and once any record cannot be stored the log is marked
/// failed and the gateway refuses every request until it is restarted.
/// </summary>
internal sealed class GatewayDecisionLog : IAsyncDisposable
{
    /// <summary>The error code the gateway answers with (503) when a decision cannot be audited.</summary>
    public const string UnavailableCode = AuditLogException.Unavailable;

    private const int MaxBatch = 256;

    private readonly AimRuntime _runtime;
    private readonly ILogger _logger;
    private readonly TimeSpan _window;
    private readonly Channel<Item> _queue;
    private readonly Task _writer;
    private Exception? _failure;

    /// <param name="runtime">The runtime whose engine stores the records.</param>
    /// <param name="logger">Where storage failures are reported.</param>
    /// <param name="window">How long the writer waits for company after the first queued record (0: hand over at once).</param>
    /// <param name="capacity">Most records waiting to be handed to the log; beyond it requests are refused.</param>
    public GatewayDecisionLog(AimRuntime runtime, ILogger logger, TimeSpan window, int capacity)
    {
        _runtime = runtime;
        _logger = logger;
        _window = window;
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping anything
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The first storage failure, once one happened (the gateway then refuses everything).</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Queues a record for the audit log.</summary>
    /// <exception cref="AimUnavailableException">The log has failed before, is closed, or the queue is full.</exception>
    public void Record(AuditRecord record)
    {

        if (Failure is { } failure)
        {
            throw new AimUnavailableException("The gateway's audit log failed earlier; nothing is forwarded until it is restarted.", failure);
        }

        if (!_queue.Writer.TryWrite(new Item(record, null)))
        {
            throw new AimUnavailableException("The gateway's audit queue is full or closed.");
        }
    }

    /// <summary>Completes once every record queued before the call is durably stored (or the log has failed).</summary>
    /// <exception cref="AimUnavailableException">The log has failed or is closed.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _queue.Writer.WriteAsync(new Item(null, done), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new AimUnavailableException("The gateway's audit log is closed.", ex);
        }

        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (Failure is { } failure)
        {
            throw new AimUnavailableException("The gateway's audit log failed.", failure);
        }
    }

    /// <summary>Stops taking records and waits until the queued ones are stored.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Item>(MaxBatch);
        var pending = new List<ValueTask>(MaxBatch);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (_window > TimeSpan.Zero && reader.Count < MaxBatch)
            {
                await Task.Delay(_window).ConfigureAwait(false);
            }

            while (batch.Count < MaxBatch && reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            foreach (var item in batch)
            {
                if (item.Record is { } record && Failure is null)
                {
                    try
                    {
                        pending.Add(_runtime.Engine.RecordAsync(record, waitForDurable: true, CancellationToken.None));
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        Fail(ex);
                    }
                }
            }

            // The log commits the batch together; wait for it before the next one (which keeps gathering meanwhile).
            foreach (var commit in pending)
            {
                try
                {
                    await commit.ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Fail(ex);
                }
            }

            foreach (var item in batch)
            {
                item.Flushed?.TrySetResult();
            }

            batch.Clear();
            pending.Clear();
        }
    }

    // A decision that was answered is not stored: from now on the gateway refuses (fail closed).
    private void Fail(Exception ex)
    {
        if (Interlocked.CompareExchange(ref _failure, ex, null) is null)
        {
            _logger.LogError(ex, "The gateway could not store a decision in its audit log; refusing every request from now on");
        }
    }

    private readonly record struct Item(AuditRecord? Record, TaskCompletionSource? Flushed);
}
