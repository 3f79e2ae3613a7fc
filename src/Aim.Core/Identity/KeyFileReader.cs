using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Aim.Crypto;

namespace Aim.Identity;

/// <summary>
/// Reads a version 1 key file strictly. Parsing is a single forward pass with <see cref="Utf8JsonReader"/>
/// so the seed goes straight from the file bytes into a pinned buffer that is wiped, never into a string.
/// </summary>
internal static class KeyFileReader
{
    private static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 16,
    };

    public static AgentKey Read(ReadOnlySpan<byte> content, string path, string expectedName)
    {
        var seed = GC.AllocateArray<byte>(Ed25519.SeedSize, pinned: true);
        try
        {
            var fields = Parse(content, path, seed);
            return Build(fields, seed, path, expectedName);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static Fields Parse(ReadOnlySpan<byte> content, string path, byte[] seed)
    {
        var fields = new Fields();
        var reader = new Utf8JsonReader(content, Options);
        try
        {
            if (!reader.Read())
            {
                throw AgentKeyStore.Corrupt(path, "it is empty");
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Still read to the end so that invalid JSON is reported as corrupt, not foreign.
                reader.Skip();
                while (reader.Read())
                {
                }

                fields.RootIsNotObject = true;
                return fields;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!fields.Seen.Add(name))
                {
                    throw AgentKeyStore.Corrupt(path, $"the field '{Printable(name)}' appears twice");
                }

                reader.Read();
                switch (name)
                {
                    case "format":
                        fields.Format = StringOrNull(ref reader);
                        fields.FormatIsString = reader.TokenType == JsonTokenType.String;
                        break;
                    case "version":
                        fields.VersionPresent = true;
                        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var version))
                        {
                            fields.Version = version;
                        }

                        break;
                    case "id":
                        fields.Id = StringOrNull(ref reader);
                        break;
                    case "name":
                        fields.Name = StringOrNull(ref reader);
                        break;
                    case "created":
                        fields.Created = StringOrNull(ref reader);
                        break;
                    case "algorithm":
                        fields.Algorithm = StringOrNull(ref reader);
                        break;
                    case "public_key":
                        fields.PublicKey = StringOrNull(ref reader);
                        break;
                    case "seed":
                        fields.SeedState = ReadSeed(ref reader, seed);
                        break;
                    default:
                        fields.Unknown ??= name;
                        reader.Skip();
                        break;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                throw AgentKeyStore.Corrupt(path, "it is not a single JSON object");
            }
        }
        catch (JsonException ex)
        {
            throw AgentKeyStore.Corrupt(path, $"it is not valid JSON (line {ex.LineNumber + 1})");
        }
        catch (InvalidOperationException)
        {
            // GetString on a string that is not valid UTF-8.
            throw AgentKeyStore.Corrupt(path, "it is not valid UTF-8 text");
        }

        return fields;
    }

    private static AgentKey Build(Fields fields, byte[] seed, string path, string expectedName)
    {
        if (fields.RootIsNotObject || !fields.Seen.Contains("format"))
        {
            throw new KeyStoreException(KeyStoreException.Foreign, path, $"The file {path} is not an Aim agent key (no \"format\":\"{AgentKeyStore.FormatTag}\"); it was left untouched.");
        }

        if (!fields.FormatIsString || fields.Format != AgentKeyStore.FormatTag)
        {
            throw AgentKeyStore.Corrupt(path, $"the format tag is not \"{AgentKeyStore.FormatTag}\"");
        }

        if (!fields.VersionPresent || fields.Version is null)
        {
            throw AgentKeyStore.Corrupt(path, "the version is missing or not an integer");
        }

        if (fields.Version != AgentKeyStore.FormatVersion)
        {
            throw new KeyStoreException(KeyStoreException.UnsupportedVersion, path, $"The key file {path} has format version {fields.Version}; this build reads version {AgentKeyStore.FormatVersion}. It was left untouched.");
        }

        if (fields.Unknown is not null)
        {
            throw AgentKeyStore.Corrupt(path, $"it has an unknown field '{Printable(fields.Unknown)}'");
        }

        if (fields.Id is null || !Guid.TryParseExact(fields.Id, "D", out var id))
        {
            throw AgentKeyStore.Corrupt(path, "the id is missing or not a UUID");
        }

        if (fields.Name is null)
        {
            throw AgentKeyStore.Corrupt(path, "the name is missing");
        }

        if (!string.Equals(fields.Name, expectedName, StringComparison.Ordinal))
        {
            throw AgentKeyStore.Corrupt(path, $"it names agent '{Printable(fields.Name)}', not '{expectedName}'");
        }

        if (fields.Created is null || !DateTimeOffset.TryParse(fields.Created, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _))
        {
            throw AgentKeyStore.Corrupt(path, "the created timestamp is missing or not ISO 8601");
        }

        if (fields.Algorithm != "ed25519")
        {
            throw AgentKeyStore.Corrupt(path, "the algorithm is not ed25519");
        }

        Span<byte> publicKey = stackalloc byte[Ed25519.PublicKeySize + 3];
        // IsValid first: TryDecodeFromChars throws (rather than returning false) on characters outside the alphabet.
        if (fields.PublicKey is null
            || fields.PublicKey.Length != Base64Url.GetEncodedLength(Ed25519.PublicKeySize)
            || !Base64Url.IsValid(fields.PublicKey.AsSpan(), out _)
            || !Base64Url.TryDecodeFromChars(fields.PublicKey, publicKey, out int publicLength)
            || publicLength != Ed25519.PublicKeySize)
        {
            throw AgentKeyStore.Corrupt(path, $"the public key is missing, not base64url, or not {Ed25519.PublicKeySize} bytes");
        }

        switch (fields.SeedState)
        {
            case SeedState.Missing:
                throw AgentKeyStore.Corrupt(path, "the seed is missing");
            case SeedState.Invalid:
                throw AgentKeyStore.Corrupt(path, $"the seed is not base64url of {Ed25519.SeedSize} bytes");
        }

        var pair = Ed25519KeyPair.FromSeed(seed);
        if (!CryptographicOperations.FixedTimeEquals(pair.PublicKey, publicKey[..Ed25519.PublicKeySize]))
        {
            pair.Dispose();
            throw AgentKeyStore.Corrupt(path, "the seed does not derive the stored public key");
        }

        return new AgentKey(new AgentIdentity(id, fields.Name, pair.PublicKey), pair);
    }

    private static SeedState ReadSeed(ref Utf8JsonReader reader, byte[] seed)
    {
        // Base64url never needs JSON escapes; an escaped or multi-segment value is refused rather than unescaped into a copy.
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return SeedState.Invalid;
        }

        var text = reader.ValueSpan;
        if (text.Length != Base64Url.GetEncodedLength(Ed25519.SeedSize))
        {
            return SeedState.Invalid;
        }

        Span<byte> decoded = stackalloc byte[Ed25519.SeedSize + 3];
        try
        {
            var status = Base64Url.DecodeFromUtf8(text, decoded, out _, out int written);
            if (status != System.Buffers.OperationStatus.Done || written != Ed25519.SeedSize)
            {
                return SeedState.Invalid;
            }

            decoded[..Ed25519.SeedSize].CopyTo(seed);
            return SeedState.Present;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
        }
    }

    private static string? StringOrNull(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            reader.Skip();
        }

        return null;
    }

    // Names from a hostile file go into messages: keep them short and printable.
    private static string Printable(string text)
    {
        var clipped = text.Length > 40 ? text[..40] + "…" : text;
        return string.Create(clipped.Length, clipped, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    private enum SeedState
    {
        Missing,
        Invalid,
        Present,
    }

    private sealed class Fields
    {
        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

        public bool RootIsNotObject { get; set; }

        public string? Format { get; set; }

        public bool FormatIsString { get; set; }

        public bool VersionPresent { get; set; }

        public long? Version { get; set; }

        public string? Id { get; set; }

        public string? Name { get; set; }

        public string? Created { get; set; }

        public string? Algorithm { get; set; }

        public string? PublicKey { get; set; }

        public SeedState SeedState { get; set; }

        public string? Unknown { get; set; }
    }
}
