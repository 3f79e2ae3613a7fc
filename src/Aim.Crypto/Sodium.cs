using System.Reflection;
using System.Runtime.InteropServices;

namespace Aim.Crypto;

/// <summary>
/// The libsodium binding: a handful of <c>[LibraryImport]</c> functions, resolved once against the
/// usual library names of each operating system.
/// </summary>
internal static partial class Sodium
{
    private const string Library = "aim-libsodium";

    private static readonly string[] LinuxNames = ["libsodium.so.23", "libsodium.so.26", "libsodium.so"];
    private static readonly string[] MacNames = ["libsodium.dylib", "/opt/homebrew/lib/libsodium.dylib", "/usr/local/lib/libsodium.dylib", "libsodium.26.dylib", "libsodium.23.dylib"];
    private static readonly string[] WindowsNames = ["libsodium.dll", "sodium.dll"];

    private static readonly Lazy<int> Initialized = new(InitializeCore, LazyThreadSafetyMode.ExecutionAndPublication);

    static Sodium()
    {
        NativeLibrary.SetDllImportResolver(typeof(Sodium).Assembly, Resolve);
    }

    /// <summary>Loads libsodium and runs <c>sodium_init</c> once; throws <see cref="SodiumUnavailableException"/> when it cannot.</summary>
    public static void EnsureInitialized() => _ = Initialized.Value;

    private static int InitializeCore()
    {
        int rc;
        try
        {
            rc = sodium_init();
        }
        catch (DllNotFoundException ex)
        {
            throw new SodiumUnavailableException(ex);
        }
        catch (EntryPointNotFoundException ex)
        {
            throw new SodiumUnavailableException(ex);
        }

        // 0: initialized now; 1: already initialized by someone else in this process; -1: failure.
        if (rc < 0)
        {
            throw new SodiumUnavailableException("sodium_init() failed.");
        }

        return rc;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }

        string[] candidates = OperatingSystem.IsWindows() ? WindowsNames : OperatingSystem.IsMacOS() ? MacNames : LinuxNames;
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle))
            {
                return handle;
            }
        }

        throw new SodiumUnavailableException(new DllNotFoundException($"None of {string.Join(", ", candidates)} could be loaded."));
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    internal static partial int crypto_sign_keypair(Span<byte> pk, Span<byte> sk);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_seed_keypair(Span<byte> pk, Span<byte> sk, ReadOnlySpan<byte> seed);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_detached(Span<byte> sig, out ulong siglen, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> sk);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_verify_detached(ReadOnlySpan<byte> sig, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> pk);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_sk_to_seed(Span<byte> seed, ReadOnlySpan<byte> sk);

    [LibraryImport(Library)]
    internal static partial int crypto_sign_ed25519_sk_to_pk(Span<byte> pk, ReadOnlySpan<byte> sk);

    [LibraryImport(Library)]
    internal static partial void sodium_memzero(Span<byte> pnt, nuint len);

    [LibraryImport(Library)]
    internal static partial IntPtr sodium_version_string();
}
