namespace Aim.Server.Storage;

/// <summary>
/// The data directory holds every tenant's audit log and the log key: only the server's own user may read it. New
/// directories are created 0700 and files 0600 whatever the umask; existing database files are narrowed to 0600 at
/// start (SQLite gives its -wal and -shm files the mode of the database file).
/// </summary>
internal static class PrivateFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the directory (0700) when it does not exist.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows() || Directory.Exists(path))
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, OwnerOnly | UnixFileMode.UserExecute);
    }

    /// <summary>Creates the SQLite database file 0600 before SQLite does (it would follow the umask) and narrows existing ones.</summary>
    public static void PrepareSqlite(string databasePath, ILogger? logger = null)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if (!File.Exists(databasePath))
        {
            try
            {
                using var created = new FileStream(databasePath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly });
            }
            catch (IOException) when (File.Exists(databasePath))
            {
                // Another process sharing the directory created it first; narrowed below.
            }
        }

        foreach (var path in new[] { databasePath, databasePath + "-wal", databasePath + "-shm", databasePath + "-journal" })
        {
            Narrow(path, logger);
        }
    }

    /// <summary>Removes group and other permissions from an existing file.</summary>
    public static void Narrow(string path, ILogger? logger = null)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
        {
            File.SetUnixFileMode(path, mode & (OwnerOnly | UnixFileMode.UserExecute));
            logger?.LogWarning("{Path} was readable by other users; its mode is now 0600.", path);
        }
    }
}
