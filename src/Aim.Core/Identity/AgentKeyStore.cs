using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Aim.Crypto;

namespace Aim.Identity;

/// <summary>
/// Agent keys on disk under an Aim home directory: one JSON file per agent in
/// <c>&lt;home&gt;/agents/&lt;name&gt;.json</c> (mode 0600, directories 0700 on Unix), written atomically.
/// </summary>
/// <remarks>
/// File format, version 1:
/// <code>
/// {"format":"aim-agent-key","version":1,"id":"&lt;uuid&gt;","name":"support-agent","created":"2026-01-01T00:00:00+00:00",
///  "algorithm":"ed25519","public_key":"&lt;base64url, 32 bytes&gt;","seed":"&lt;base64url, 32 bytes&gt;"}
/// </code>
/// Every field is required and no other field is allowed. A file that fails any check is reported
/// with a <see cref="KeyStoreException"/> and is never overwritten or deleted: the store only creates
/// files that do not exist. Seeds are read into buffers that are wiped after use and never appear in
/// messages.
/// </remarks>
public sealed class AgentKeyStore
{
    /// <summary>The environment variable that overrides the home directory.</summary>
    public const string HomeEnvironmentVariable = "AIM_HOME";

    /// <summary>The format tag of key files.</summary>
    public const string FormatTag = "aim-agent-key";

    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The name recorded in the audit log's signing key file.</summary>
    public const string LogKeyName = "__log";

    private const string AgentsDirectory = "agents";
    private const string LogKeyFile = "log.key.json";
    private const int MaxFileSize = 16 * 1024;

    private const UnixFileMode KeyFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly TimeProvider _time;

    /// <summary>Opens (without touching the disk) the store under <paramref name="home"/>.</summary>
    /// <param name="home">The Aim home directory, for example <see cref="DefaultHome"/>.</param>
    /// <param name="timeProvider">Clock for the <c>created</c> field; the system clock by default.</param>
    /// <exception cref="ArgumentException"><paramref name="home"/> is empty.</exception>
    public AgentKeyStore(string home, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(home);
        Home = Path.GetFullPath(home);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The absolute home directory.</summary>
    public string Home { get; }

    /// <summary>The directory holding agent key files.</summary>
    public string AgentsPath => Path.Combine(Home, AgentsDirectory);

    /// <summary>The path of the audit log's signing key.</summary>
    public string LogKeyPath => Path.Combine(Home, LogKeyFile);

    /// <summary>The home directory: <c>AIM_HOME</c> when set, otherwise <c>~/.aim</c>.</summary>
    public static string DefaultHome()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(HomeEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".aim");
    }

    /// <summary>The key file path of an agent (the name is validated and lower-cased).</summary>
    /// <exception cref="KeyStoreException">Code <see cref="KeyStoreException.NameInvalid"/>.</exception>
    public string PathFor(string name) => Path.Combine(AgentsPath, AgentName.Normalize(name) + ".json");

    /// <summary>True when the agent has a key file (whether or not it is valid).</summary>
    /// <exception cref="KeyStoreException">Code <see cref="KeyStoreException.NameInvalid"/>.</exception>
    public bool Exists(string name) => File.Exists(PathFor(name));

    /// <summary>Loads the agent's key, creating it when no file exists. An existing file that is invalid is reported, never replaced.</summary>
    /// <exception cref="KeyStoreException">The name is invalid, or the existing file is corrupt, foreign, of another version, too permissive, or unreadable.</exception>
    public AgentKey LoadOrCreate(string name)
    {
        var normalized = AgentName.Normalize(name);
        return LoadOrCreateAt(PathFor(normalized), normalized, AgentsPath);
    }

    /// <summary>Loads an agent's key.</summary>
    /// <exception cref="KeyStoreException">Code <see cref="KeyStoreException.NotFound"/> when there is no file; otherwise as for <see cref="LoadOrCreate"/>.</exception>
    public AgentKey Load(string name)
    {
        var normalized = AgentName.Normalize(name);
        return LoadFile(PathFor(normalized), normalized);
    }

    /// <summary>Creates a new key for an agent that has none.</summary>
    /// <exception cref="KeyStoreException">Code <see cref="KeyStoreException.AlreadyExists"/> when a file exists; <see cref="KeyStoreException.NameInvalid"/>; <see cref="KeyStoreException.Io"/>.</exception>
    public AgentKey Create(string name)
    {
        var normalized = AgentName.Normalize(name);
        return CreateFile(PathFor(normalized), normalized, AgentsPath);
    }

    /// <summary>The identities of every stored agent, ordered by name. Files whose name is not a valid agent name (temporary files) are ignored.</summary>
    /// <exception cref="KeyStoreException">A key file is invalid (the message names it).</exception>
    public IReadOnlyList<AgentIdentity> List()
    {
        if (!Directory.Exists(AgentsPath))
        {
            return [];
        }

        var identities = new List<AgentIdentity>();
        foreach (var path in Directory.EnumerateFiles(AgentsPath, "*.json"))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (!AgentName.IsValid(name) || !string.Equals(AgentName.Normalize(name), name, StringComparison.Ordinal))
            {
                continue;
            }

            using var key = LoadFile(path, name);
            identities.Add(key.Identity);
        }

        identities.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return identities;
    }

    /// <summary>Loads or creates the key that signs audit tree heads (<c>&lt;home&gt;/log.key.json</c>, name <c>__log</c>).</summary>
    /// <exception cref="KeyStoreException">As for <see cref="LoadOrCreate"/>.</exception>
    public AgentKey LoadOrCreateLogKey() => LoadOrCreateAt(LogKeyPath, LogKeyName, Home);

    /// <summary>Loads the audit log's signing key.</summary>
    /// <exception cref="KeyStoreException">As for <see cref="Load"/>.</exception>
    public AgentKey LoadLogKey() => LoadFile(LogKeyPath, LogKeyName);

    /// <summary>The Unix mode of a file or directory, or null on Windows or when it does not exist.</summary>
    public static UnixFileMode? UnixModeOf(string path)
    {
        if (OperatingSystem.IsWindows() || (!File.Exists(path) && !Directory.Exists(path)))
        {
            return null;
        }

        try
        {
            return File.GetUnixFileMode(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private AgentKey LoadOrCreateAt(string path, string name, string directory)
    {
        if (File.Exists(path))
        {
            return LoadFile(path, name);
        }

        try
        {
            return CreateFile(path, name, directory);
        }
        catch (KeyStoreException ex) when (ex.Code == KeyStoreException.AlreadyExists)
        {
            // Another process created it between the check and the create: use theirs.
            return LoadFile(path, name);
        }
    }

    private AgentKey CreateFile(string path, string name, string directory)
    {
        if (File.Exists(path))
        {
            throw new KeyStoreException(KeyStoreException.AlreadyExists, path, $"A key already exists for '{name}' at {path}; it is never overwritten.");
        }

        EnsureDirectory(Home);
        EnsureDirectory(directory);

        var key = AgentKey.Generate(name);
        try
        {
            WriteAtomically(path, key, _time.GetUtcNow());
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static void EnsureDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                return;
            }

            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, DirectoryMode);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KeyStoreException(KeyStoreException.Io, directory, $"Cannot create the key directory {directory}: {ex.Message}", ex);
        }
    }

    private static void WriteAtomically(string path, AgentKey key, DateTimeOffset created)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Span<byte> seed = stackalloc byte[Ed25519.SeedSize];
        Span<byte> seedText = stackalloc byte[64];
        var temp = path + ".tmp-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        try
        {
            var exported = key.KeyPair.ExportSeed();
            exported.CopyTo(seed);
            Ed25519.Wipe(exported);
            int seedLength = Base64Url.EncodeToUtf8(seed, seedText);

            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                writer.WriteStartObject();
                writer.WriteString("format", FormatTag);
                writer.WriteNumber("version", FormatVersion);
                writer.WriteString("id", key.Identity.Id.ToString("D"));
                writer.WriteString("name", key.Identity.Name);
                writer.WriteString("created", created.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteString("algorithm", "ed25519");
                writer.WriteString("public_key", Base64Url.EncodeToString(key.Identity.PublicKey.Span));
                writer.WriteString("seed", seedText[..seedLength]);
                writer.WriteEndObject();
            }

            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = KeyFileMode;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(buffer.WrittenSpan);
                stream.Flush(flushToDisk: true);
            }

            // No-overwrite move: a file that appeared meanwhile is kept and reported.
            File.Move(temp, path, overwrite: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            if (File.Exists(path))
            {
                throw new KeyStoreException(KeyStoreException.AlreadyExists, path, $"A key already exists at {path}; it is never overwritten.", ex);
            }

            throw new KeyStoreException(KeyStoreException.Io, path, $"Cannot write the key file {path}: {ex.Message}", ex);
        }
        finally
        {
            Ed25519.Wipe(seed);
            Ed25519.Wipe(seedText);
            buffer.Clear(); // zeroes the bytes that held the seed
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file is ignored by List and never loaded.
        }
    }

    private static AgentKey LoadFile(string path, string expectedName)
    {
        if (!File.Exists(path))
        {
            throw new KeyStoreException(KeyStoreException.NotFound, path, $"No key for '{expectedName}' at {path}.");
        }

        byte[] content;
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                var mode = File.GetUnixFileMode(path);
                if ((mode & GroupOrOther) != 0)
                {
                    throw new KeyStoreException(
                        KeyStoreException.Permissions,
                        path,
                        $"The key file {path} is accessible to group or others (mode {Convert.ToString((int)mode & 0x1ff, 8)}); run 'chmod 600 {path}'.");
                }
            }

            var info = new FileInfo(path);
            if (info.Length > MaxFileSize)
            {
                throw Corrupt(path, $"it is {info.Length} bytes, larger than any key file");
            }

            content = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new KeyStoreException(KeyStoreException.Io, path, $"Cannot read the key file {path}: {ex.Message}", ex);
        }

        try
        {
            return KeyFileReader.Read(content, path, expectedName);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    internal static KeyStoreException Corrupt(string path, string reason) =>
        new(KeyStoreException.Corrupt, path, $"The key file {path} is corrupt: {reason}. It was left untouched; move it away or restore it from a backup.");
}
