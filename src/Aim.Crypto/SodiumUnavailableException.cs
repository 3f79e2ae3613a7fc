namespace Aim.Crypto;

/// <summary>
/// The Ed25519 provider (NSec.Cryptography over the libsodium native library that the libsodium NuGet package ships)
/// could not be loaded or initialized on this platform. Nothing is signed or verified without it.
/// </summary>
public sealed class SodiumUnavailableException : Exception
{
    /// <summary>The stable error code of this failure.</summary>
    public const string ErrorCode = "aim_crypto_libsodium_missing";

    /// <summary>What to check: the native library comes with the application, not from the operating system.</summary>
    public static string InstallHint =>
        "libsodium ships inside the NSec.Cryptography/libsodium NuGet packages; publish for a runtime they support "
        + "(win, linux, linux-musl, osx on x64/arm64) and keep runtimes/<rid>/native/ beside the application";

    /// <summary>Creates the exception for a load or initialization failure.</summary>
    public SodiumUnavailableException(Exception inner)
        : base($"Ed25519 is unavailable: NSec.Cryptography could not load libsodium ({inner.Message}). {InstallHint}.", inner)
    {
    }

    /// <summary>Creates the exception with a specific reason.</summary>
    public SodiumUnavailableException(string reason)
        : base($"Ed25519 is unavailable: {reason} {InstallHint}.")
    {
    }

    /// <summary>The stable error code.</summary>
    public string Code => ErrorCode;
}
