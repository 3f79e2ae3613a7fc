namespace Aim.Audit;

/// <summary>Tuning for <see cref="AuditLog"/>'s group-commit writer.</summary>
public sealed class AuditLogOptions
{
    /// <summary>
    /// How long a batch that already has company waits for more appends before it is committed. A lone append a caller
    /// awaits is committed at once; the wait only applies when several appends are queued (as PostgreSQL's
    /// <c>commit_delay</c> applies only with <c>commit_siblings</c>) or when the lone one is not awaited (it cannot delay
    /// anyone). Default 2 ms; zero disables waiting.
    /// </summary>
    public TimeSpan MaxCommitDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The most entries committed in one transaction. Default 1024.</summary>
    public int MaxBatchSize { get; set; } = 1024;

    /// <summary>
    /// The most entries nobody waits for (the embedded engine's records of actions that do not wait for durability) that
    /// may be queued ahead of the writer. A caller that would exceed it blocks until the writer takes a batch, so a caller
    /// faster than the disk slows down instead of growing memory without bound. Default 16,384; at least 1.
    /// </summary>
    public int MaxQueuedUntracked { get; set; } = 16_384;

    /// <summary>
    /// Write a signed tree head at the end of the first batch that crosses each multiple of this many entries,
    /// and on <see cref="AuditLog.FlushAsync"/> and dispose. Default 1000; zero or less writes heads only on
    /// flush, dispose and <see cref="AuditLog.CreateTreeHead"/>.
    /// </summary>
    public long TreeHeadEvery { get; set; } = 1000;
}
