namespace Aim.Crypto;

/// <summary>
/// libsodium could not be loaded or initialized. The message names the command that installs it.
/// </summary>
public sealed class SodiumUnavailableException : Exception
{
    /// <summary>The stable error code of this failure.</summary>
    public const string ErrorCode = "aim_crypto_libsodium_missing";

    /// <summary>The install command for this operating system.</summary>
    public static string InstallHint =>
        OperatingSystem.IsWindows() ? "download libsodium.dll from https://download.libsodium.org and place it beside the application"
        : OperatingSystem.IsMacOS() ? "brew install libsodium"
        : "sudo apt-get install -y libsodium23 (Debian/Ubuntu) or sudo dnf install libsodium (Fedora)";

    /// <summary>Creates the exception for a load failure.</summary>
    public SodiumUnavailableException(Exception inner)
        : base($"libsodium is required for Ed25519 but could not be loaded ({inner.Message}). Install it: {InstallHint}", inner)
    {
    }

    /// <summary>Creates the exception with a specific reason.</summary>
    public SodiumUnavailableException(string reason)
        : base($"libsodium is required for Ed25519 but is unusable: {reason} Install it: {InstallHint}")
    {
    }

    /// <summary>The stable error code.</summary>
    public string Code => ErrorCode;
}
