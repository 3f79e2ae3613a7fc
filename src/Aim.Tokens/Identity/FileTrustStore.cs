using System.Text.Json;
using Aim.Identity;

namespace Aim.Tokens.Identity;

/// <summary>
/// A trust store read from a JSON file (offline use, CI, the CLI):
/// <code>
/// {"trusted_roots":["aip:key:ed25519:z…","aip:web:example.com/agents/alpha"],
///  "pinned":[{"id":"aip:web:example.com/agents/alpha","keys":[{"id":"k1","public_key":"aip:key:ed25519:z…","not_after":1798761600}]}]}
/// </code>
/// The file is read once at construction (call <see cref="Reload"/> after editing it). A file that cannot be read or
/// parsed fails the constructor: a verifier never runs with a half-read trust store.
/// </summary>
public sealed class FileTrustStore : IAipTrustStore
{
    private const int MaxFileBytes = 1024 * 1024;
    private volatile InMemoryTrustStore _current = new();

    /// <summary>Loads the store.</summary>
    /// <exception cref="AipException"><see cref="AipErrorCodes.IdentityUnresolvable"/>: the file is missing, too large or malformed.</exception>
    public FileTrustStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        Reload();
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Re-reads the file; on failure the previous contents stay in force and the exception propagates.</summary>
    /// <exception cref="AipException">As for the constructor.</exception>
    public void Reload()
    {
        try
        {
            var info = new FileInfo(Path);
            if (!info.Exists || info.Length > MaxFileBytes)
            {
                throw new AipException(AipErrorCodes.IdentityUnresolvable, $"Trust store '{Path}' is missing or larger than 1 MiB.");
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(Path));
            var store = new InMemoryTrustStore();
            var root = document.RootElement;
            if (root.TryGetProperty("trusted_roots", out var roots))
            {
                foreach (var r in roots.EnumerateArray())
                {
                    store.TrustRoot(r.GetString()!);
                }
            }

            if (root.TryGetProperty("pinned", out var pinned))
            {
                foreach (var entry in pinned.EnumerateArray())
                {
                    var keys = entry.GetProperty("keys").EnumerateArray().Select(k => new AipPublicKey(
                        k.GetProperty("id").GetString()!,
                        AgentIdentity.PublicKeyFromAipId(k.GetProperty("public_key").GetString()!),
                        k.TryGetProperty("not_before", out var nb) ? DateTimeOffset.FromUnixTimeSeconds(nb.GetInt64()) : null,
                        k.TryGetProperty("not_after", out var na) ? DateTimeOffset.FromUnixTimeSeconds(na.GetInt64()) : null)).ToArray();
                    store.Pin(entry.GetProperty("id").GetString()!, keys);
                }
            }

            _current = store;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or ArgumentException
                                       or FormatException or IOException or UnauthorizedAccessException or IdentityFormatException)
        {
            throw new AipException(AipErrorCodes.IdentityUnresolvable, $"Trust store '{Path}' is malformed.", ex);
        }
    }

    /// <inheritdoc/>
    public bool IsTrustedRoot(string aipId) => _current.IsTrustedRoot(aipId);

    /// <inheritdoc/>
    public bool TryGetPinnedKeys(string aipId, out IReadOnlyList<AipPublicKey> keys) => _current.TryGetPinnedKeys(aipId, out keys);
}
