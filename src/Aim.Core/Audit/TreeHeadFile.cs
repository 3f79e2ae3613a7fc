using System.Text;

namespace Aim.Audit;

/// <summary>
/// The append-only side file <c>&lt;log&gt;.heads</c>: one signed tree head per line. It outlives a truncation of
/// the database, so a cut-off log is caught against heads the database no longer holds.
/// </summary>
internal sealed class TreeHeadFile : IDisposable
{
    private readonly FileStream _stream;

    private TreeHeadFile(FileStream stream)
    {
        _stream = stream;
    }

    public static string PathFor(string logPath) => logPath + ".heads";

    public static TreeHeadFile OpenForAppend(string logPath) =>
        new(new FileStream(PathFor(logPath), FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 4096, FileOptions.None));

    /// <summary>Appends a head and forces it to disk.</summary>
    public void Append(SignedTreeHead head)
    {
        var line = Encoding.UTF8.GetBytes(head.ToJson() + "\n");
        _stream.Write(line);
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Reads every complete line of the side file (a torn last line from a crash is skipped).</summary>
    public static List<string> ReadLines(string logPath)
    {
        var path = PathFor(logPath);
        var lines = new List<string>();
        if (!File.Exists(path))
        {
            return lines;
        }

        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            text = reader.ReadToEnd();
        }

        var parts = text.Split('\n');
        for (var i = 0; i < parts.Length - 1; i++) // the part after the last newline is incomplete or empty
        {
            if (parts[i].Length > 0)
            {
                lines.Add(parts[i]);
            }
        }

        return lines;
    }

    public void Dispose() => _stream.Dispose();
}
