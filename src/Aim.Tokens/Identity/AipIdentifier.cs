using Aim.Identity;

namespace Aim.Tokens.Identity;

/// <summary>The two kinds of AIP identifier.</summary>
public enum AipIdentifierKind
{
    /// <summary><c>aip:key:ed25519:z…</c>: the identifier is the public key (self-certifying, no lookup).</summary>
    Key,

    /// <summary><c>aip:web:&lt;domain&gt;/&lt;path&gt;</c>: keys come from an identity document served over HTTPS.</summary>
    Web,
}

/// <summary>
/// A parsed AIP identifier: <c>aip:key:ed25519:z&lt;base58btc key&gt;</c> (the key encoding of did:key) or
/// <c>aip:web:&lt;domain&gt;/&lt;path&gt;</c>, resolved at <c>https://&lt;domain&gt;/.well-known/aip/&lt;path&gt;.json</c>.
/// </summary>
public sealed class AipIdentifier
{
    /// <summary>Prefix of a web identifier.</summary>
    public const string WebPrefix = "aip:web:";

    /// <summary>Longest identifier accepted.</summary>
    public const int MaxLength = 512;

    private readonly byte[]? _publicKey;

    private AipIdentifier(string value, AipIdentifierKind kind, byte[]? publicKey, string? domain, string? path)
    {
        Value = value;
        Kind = kind;
        _publicKey = publicKey;
        Domain = domain;
        Path = path;
    }

    /// <summary>The identifier as written.</summary>
    public string Value { get; }

    /// <summary>Key or web.</summary>
    public AipIdentifierKind Kind { get; }

    /// <summary>The 32-byte Ed25519 key of an <c>aip:key</c> identifier; empty for <c>aip:web</c>.</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>The lower-case host name of an <c>aip:web</c> identifier (null for <c>aip:key</c>).</summary>
    public string? Domain { get; }

    /// <summary>The path of an <c>aip:web</c> identifier, without leading slash (null for <c>aip:key</c>).</summary>
    public string? Path { get; }

    /// <summary>Where the identity document of an <c>aip:web</c> identifier is served.</summary>
    /// <exception cref="InvalidOperationException">This is an <c>aip:key</c> identifier.</exception>
    public Uri DocumentUri => Kind == AipIdentifierKind.Web
        ? new Uri($"https://{Domain}/.well-known/aip/{Path}.json", UriKind.Absolute)
        : throw new InvalidOperationException("An aip:key identifier has no identity document.");

    /// <summary>The key identifier of a public key.</summary>
    /// <exception cref="IdentityFormatException">The key is not 32 bytes.</exception>
    public static string ForKey(ReadOnlySpan<byte> publicKey) => AgentIdentity.AipIdOf(publicKey);

    /// <summary>Parses an identifier.</summary>
    /// <exception cref="AipException"><see cref="AipErrorCodes.IdentityUnresolvable"/>: not an AIP identifier, a bad key
    /// encoding, or an invalid domain or path.</exception>
    public static AipIdentifier Parse(string? value) =>
        TryParse(value, out var id, out var error) ? id : throw new AipException(AipErrorCodes.IdentityUnresolvable, error);

    /// <summary>Parses an identifier without throwing.</summary>
    public static bool TryParse(string? value, out AipIdentifier identifier) => TryParse(value, out identifier, out _);

    // Base58 decoding is quadratic and every verification parses iss and sub: remember recent valid identifiers
    // (immutable values; bounded, emptied when full).
    private static readonly RecentByText<AipIdentifier> Parsed = new(capacity: 4096);

    /// <summary>
    /// An identifier parsed before, looked up by its characters: lets a token decoder reuse the cached instance (and its
    /// <see cref="Value"/> string) instead of allocating a string per verification. False only means "not cached".
    /// </summary>
    internal static bool TryGetParsed(ReadOnlySpan<char> value, out AipIdentifier identifier) => Parsed.TryGet(value, out identifier);

    private static bool TryParse(string? value, out AipIdentifier identifier, out string error)
    {
        if (value is not null && Parsed.TryGet(value, out identifier))
        {
            error = string.Empty;
            return true;
        }

        if (!TryParseUncached(value, out identifier, out error))
        {
            return false;
        }

        Parsed.Add(value!, identifier);
        return true;
    }

    private static bool TryParseUncached(string? value, out AipIdentifier identifier, out string error)
    {
        identifier = null!;
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            error = "The AIP identifier is missing or too long.";
            return false;
        }

        if (value.StartsWith(AgentIdentity.AipKeyPrefix, StringComparison.Ordinal))
        {
            if (!AgentIdentity.TryPublicKeyFromAipId(value, out var key))
            {
                error = "The aip:key identifier does not hold a base58btc Ed25519 key.";
                return false;
            }

            identifier = new AipIdentifier(value, AipIdentifierKind.Key, key, null, null);
            error = string.Empty;
            return true;
        }

        if (value.StartsWith(WebPrefix, StringComparison.Ordinal))
        {
            var rest = value.AsSpan(WebPrefix.Length);
            var slash = rest.IndexOf('/');
            if (slash <= 0 || slash == rest.Length - 1)
            {
                error = "An aip:web identifier is aip:web:<domain>/<path>.";
                return false;
            }

            var domain = rest[..slash].ToString();
            var path = rest[(slash + 1)..].ToString();
            if (!IsValidDomain(domain) || !IsValidPath(path))
            {
                error = "The aip:web identifier has an invalid domain or path.";
                return false;
            }

            identifier = new AipIdentifier(value, AipIdentifierKind.Web, null, domain, path);
            error = string.Empty;
            return true;
        }

        error = "Not an AIP identifier (aip:key:ed25519:z… or aip:web:<domain>/<path>).";
        return false;
    }

    // Lower-case DNS labels only: the identifier is compared as a string, so one spelling per host.
    private static bool IsValidDomain(string domain)
    {
        if (domain.Length > 253)
        {
            return false;
        }

        foreach (var label in domain.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(c is >= 'a' and <= 'z' || c is >= '0' and <= '9' || c == '-'))
                {
                    return false;
                }
            }
        }

        return domain.Contains('.', StringComparison.Ordinal) || domain == "localhost";
    }

    // Segments of [A-Za-z0-9._-], none of them "." or "..": the path becomes part of a URL.
    private static bool IsValidPath(string path)
    {
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                return false;
            }

            foreach (var c in segment)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The identifier string.</summary>
    public override string ToString() => Value;
}
