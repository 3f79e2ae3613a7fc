using System.Text;
using System.Text.Json.Nodes;
using Aim.Audit;

namespace Aim.Server.AuditLog;

/// <summary>
/// <c>&lt;data&gt;/audit-heads.jsonl</c>: the signed heads this server handed out or started from, one JSON line
/// <c>{"org_id","head"}</c> per head, mode 0600, outside the database. The database cannot be rolled back or truncated
/// behind a head recorded here without the next start noticing. Compacted to the last head per organization at start.
/// A torn last line (a crash while writing) is ignored; any other line that does not parse or is not signed by the log
/// key marks its organization's log as damaged.
/// </summary>
internal sealed class TreeHeadLedger
{
    private readonly string _path;
    private readonly byte[] _logKey;
    private readonly object _gate = new();
    private readonly Dictionary<string, SignedTreeHead> _last = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _damaged = new(StringComparer.Ordinal);

    /// <exception cref="AimConfigurationException">The file cannot be read, or holds a line that names no organization.</exception>
    public TreeHeadLedger(string path, byte[] logPublicKey)
    {
        _path = path;
        _logKey = logPublicKey;
        if (!File.Exists(path))
        {
            return;
        }

        Storage.PrivateFiles.Narrow(path);
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AimConfigurationException($"The audit head ledger {path} cannot be read: {ex.Message}", ex);
        }

        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length - 1; i++)
        {
            if (lines[i].Length > 0)
            {
                Load(lines[i], i + 1);
            }
        }
    }

    /// <summary>Organizations whose recorded heads were not valid, with why.</summary>
    public IReadOnlyList<(string Org, string Problem)> Damaged
    {
        get
        {
            lock (_gate)
            {
                return _damaged.Select(d => (d.Key, d.Value)).ToList();
            }
        }
    }

    public IReadOnlyList<string> Organizations()
    {
        lock (_gate)
        {
            return _last.Keys.ToList();
        }
    }

    /// <summary>The largest head recorded for the organization.</summary>
    public SignedTreeHead? Last(string orgId)
    {
        lock (_gate)
        {
            return _last.GetValueOrDefault(orgId);
        }
    }

    /// <summary>Appends the head (and forces it to disk) when it is larger than the last one recorded.</summary>
    public void Record(string orgId, SignedTreeHead head)
    {
        lock (_gate)
        {
            if (_damaged.ContainsKey(orgId) || (_last.TryGetValue(orgId, out var last) && last.TreeSize >= head.TreeSize))
            {
                return;
            }

            using (var stream = Open(FileMode.Append))
            {
                stream.Write(Encoding.UTF8.GetBytes(Line(orgId, head)));
                stream.Flush(flushToDisk: true);
            }

            _last[orgId] = head;
        }
    }

    /// <summary>Rewrites the file with the last head per organization (a new file renamed over the old one).</summary>
    public void Compact()
    {
        lock (_gate)
        {
            if (_damaged.Count > 0 || !File.Exists(_path))
            {
                return; // a damaged ledger is evidence: left as it is
            }

            string temp = _path + ".tmp";
            File.Delete(temp);
            using (var stream = Open(FileMode.CreateNew, temp))
            {
                foreach (var (org, head) in _last)
                {
                    stream.Write(Encoding.UTF8.GetBytes(Line(org, head)));
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, _path, overwrite: true);
        }
    }

    private void Load(string line, int number)
    {
        string? org = null;
        try
        {
            if (JsonNode.Parse(line) is JsonObject o && o["org_id"] is JsonValue v && v.TryGetValue<string>(out var id) && o["head"] is JsonObject h)
            {
                org = id;
                var head = SignedTreeHead.FromJson(h.ToJsonString());
                if (!head.VerifySignature() || !head.LogPublicKey.AsSpan().SequenceEqual(_logKey))
                {
                    _damaged.TryAdd(org, $"Line {number} of the audit head ledger is not a head signed by this server's log key.");
                }
                else if (!_last.TryGetValue(org, out var last) || head.TreeSize > last.TreeSize)
                {
                    _last[org] = head;
                }

                return;
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or AuditLogException or InvalidOperationException)
        {
            if (org is not null)
            {
                _damaged.TryAdd(org, $"Line {number} of the audit head ledger is not a signed tree head.");
                return;
            }
        }

        throw new AimConfigurationException($"Line {number} of the audit head ledger {_path} names no organization; the file was damaged or edited.");
    }

    private static string Line(string orgId, SignedTreeHead head) =>
        new JsonObject { ["org_id"] = orgId, ["head"] = JsonNode.Parse(head.ToJson()) }.ToJsonString() + "\n";

    private FileStream Open(FileMode mode, string? path = null)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path ?? _path, options);
    }
}
