namespace Aim.Identity;

/// <summary>
/// The agent key store refused a file or a name. <see cref="AimException.Code"/> is one of the
/// constants below; the message names the file but never contains key material.
/// </summary>
public sealed class KeyStoreException : AimException
{
    /// <summary>The file is not valid JSON, lacks or mistypes a field, has the wrong format tag, or its seed does not derive its public key.</summary>
    public const string Corrupt = "aim_keystore_corrupt";

    /// <summary>The file is JSON written by something else (no Aim format tag).</summary>
    public const string Foreign = "aim_keystore_foreign";

    /// <summary>The file's format version is not one this build reads.</summary>
    public const string UnsupportedVersion = "aim_keystore_version";

    /// <summary>The key file is readable or writable by group or others (Unix).</summary>
    public const string Permissions = "aim_keystore_permissions";

    /// <summary>The agent name is not a valid key store name.</summary>
    public const string NameInvalid = "aim_keystore_name_invalid";

    /// <summary><see cref="AgentKeyStore.Create"/> was asked for an agent that already has a key.</summary>
    public const string AlreadyExists = "aim_keystore_exists";

    /// <summary><see cref="AgentKeyStore.Load"/> found no key file for the agent.</summary>
    public const string NotFound = "aim_keystore_not_found";

    /// <summary>The key file could not be read or written (I/O or access error).</summary>
    public const string Io = "aim_keystore_io";

    /// <summary>Creates the exception.</summary>
    /// <param name="code">One of the constants of this class.</param>
    /// <param name="path">The file concerned, or null for a name error.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public KeyStoreException(string code, string? path, string message, Exception? inner = null)
        : base(code, message, inner)
    {
        FilePath = path;
    }

    /// <summary>The key file concerned, when there is one.</summary>
    public string? FilePath { get; }
}
