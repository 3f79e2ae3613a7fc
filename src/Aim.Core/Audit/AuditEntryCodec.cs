using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aim.Crypto;
using Aim.Json;

namespace Aim.Audit;

/// <summary>An <see cref="AuditRecord"/> checked and with its JSON members already canonicalized, ready to be
/// numbered, signed and committed by the writer. A struct: the append that carries it is the one object per entry.</summary>
internal readonly struct PreparedRecord
{
    public required AuditRecord Record { get; init; }

    /// <summary>The canonical JSON without the members the writer adds: bytes <c>[0, HeadLength)</c> run from
    /// <c>{"action_id":...</c> through <c>"error"</c> (everything before <c>"index"</c>), bytes <c>[HeadLength, Length)</c>
    /// are the members after <c>"index"</c> up to <c>"risk"</c>, each preceded by a comma. Rented from
    /// <see cref="AuditEntryCodec.RecordBuffers"/> (it may be longer than <see cref="Length"/>): the audit log gives it back
    /// once the entry is committed or failed (<see cref="ReturnBuffer"/>), so the caller's thread allocates no array per
    /// record.</summary>
    public required byte[] Bytes { get; init; }

    /// <summary>How many bytes of <see cref="Bytes"/> are the record.</summary>
    public required int Length { get; init; }

    /// <summary>Where the members after <c>"index"</c> start in <see cref="Bytes"/>.</summary>
    public required int HeadLength { get; init; }

    /// <summary>The members before <c>"index"</c>.</summary>
    public ReadOnlySpan<byte> Head => Bytes.AsSpan(0, HeadLength);

    /// <summary>The members after <c>"index"</c>.</summary>
    public ReadOnlySpan<byte> Middle => Bytes.AsSpan(HeadLength, Length - HeadLength);

    /// <summary>Gives the buffer back to the pool. Call once, when nothing will read this record again.</summary>
    public void ReturnBuffer() => AuditEntryCodec.RecordBuffers.Return(Bytes);
}

/// <summary>The facts the verifier needs from a stored entry body, read without building objects.</summary>
internal readonly record struct EntryInspection(long Index, byte[] AgentKey, byte[] Signature, int SigStart, int SigEnd);

/// <summary>
/// Encodes audit entries as RFC 8785 JSON and reads them back. Members are written in canonical order by hand
/// (a test pins that the output is canonical). The signature covers the body without its <c>"sig"</c> member;
/// the Merkle leaf is the body with it.
/// </summary>
internal static class AuditEntryCodec
{
    public const int FormatVersion = 1;

    /// <summary>
    /// Prepared records' buffers. Not <see cref="System.Buffers.ArrayPool{T}.Shared"/>: callers rent one at a time while the
    /// committer gives them back a batch (up to thousands) at a time, far more than the shared pool keeps per size, so
    /// most would be dropped and allocated again. This pool keeps up to 4,096 per size; what it keeps is bounded by the
    /// largest backlog seen (typically ~512 B per buffer).
    /// </summary>
    internal static readonly System.Buffers.ArrayPool<byte> RecordBuffers = System.Buffers.ArrayPool<byte>.Create(maxArrayLength: 64 * 1024, maxArraysPerBucket: 4096);

    private static ReadOnlySpan<byte> SigMemberPrefix => ",\"sig\":\""u8;

    /// <summary>Checks a record and canonicalizes its JSON members on the caller's thread.</summary>
    /// <exception cref="ArgumentException">A required member is empty, an enum is undefined, a number is not finite,
    /// a string holds an unpaired surrogate, or a JSON member cannot be canonicalized.</exception>
    public static PreparedRecord Prepare(AuditRecord record, ReadOnlySpan<byte> agentKey)
    {
        ArgumentNullException.ThrowIfNull(record);
        Required(record.ActionId, nameof(record.ActionId));
        Required(record.AgentId, nameof(record.AgentId));
        Required(record.AgentName, nameof(record.AgentName));
        Required(record.Capability, nameof(record.Capability));
        Required(record.Decision, nameof(record.Decision));
        _ = AuditFormat.KindName(record.Kind);
        _ = AuditFormat.RiskName(record.Risk);
        // One call per member (no array of pairs): this runs on the caller's thread for every secured action.
        Optional(record.Resource, nameof(record.Resource));
        Optional(record.ReasonCode, nameof(record.ReasonCode));
        Optional(record.Reason, nameof(record.Reason));
        Optional(record.Outcome, nameof(record.Outcome));
        Optional(record.Error, nameof(record.Error));
        Optional(record.ArgumentsDigest, nameof(record.ArgumentsDigest));
        Optional(record.OnBehalfOf, nameof(record.OnBehalfOf));
        Optional(record.Method, nameof(record.Method));

        if (record.DurationMs is { } d && !double.IsFinite(d))
        {
            throw new ArgumentException("DurationMs must be a finite number.", nameof(record));
        }

        var arguments = record.Arguments is null ? null : Canonical(record.Arguments, nameof(record.Arguments));
        var result = record.Result is null ? null : Canonical(record.Result, nameof(record.Result));
        var details = record.Details is null ? null : Canonical(record.Details, nameof(record.Details));

        // Everything but the index and the time is known now: encode it on the caller's thread, so the single
        // writer only splices in the index, the time and the signature. The writer's buffer is reused per thread.
        var w = ThreadWriter();
        w.StartObject();
        w.Key("action_id");
        w.String(record.ActionId);
        w.Key("agent");
        w.StartObject();
        w.Key("id");
        w.String(record.AgentId);
        w.Key("key");
        w.Base64UrlString(agentKey);
        w.Key("name");
        w.String(record.AgentName);
        w.EndObject();
        RawIfSet(w, "arguments", arguments);
        StringIfSet(w, "arguments_digest", record.ArgumentsDigest);
        w.Key("capability");
        w.String(record.Capability);
        w.Key("decision");
        w.String(record.Decision);
        RawIfSet(w, "details", details);
        if (record.DurationMs is { } duration)
        {
            w.Key("duration_ms");
            w.Number(duration);
        }

        StringIfSet(w, "error", record.Error);
        var headLength = w.Length;

        // The middle part continues the same object after "index": write "index" as a member (so the writer puts a
        // comma before the next one), then cut it out.
        w.Key("index");
        w.Integer(0);
        var skip = w.Length;
        w.Key("kind");
        w.String(AuditFormat.KindName(record.Kind));
        StringIfSet(w, "method", record.Method);
        StringIfSet(w, "on_behalf_of", record.OnBehalfOf);
        StringIfSet(w, "outcome", record.Outcome);
        StringIfSet(w, "reason", record.Reason);
        StringIfSet(w, "reason_code", record.ReasonCode);
        StringIfSet(w, "resource", record.Resource);
        RawIfSet(w, "result", result);
        w.Key("risk");
        w.String(AuditFormat.RiskName(record.Risk));
        var written = w.WrittenSpan;
        int length = headLength + (written.Length - skip);
        var bytes = RecordBuffers.Rent(length);
        written[..headLength].CopyTo(bytes);
        written[skip..].CopyTo(bytes.AsSpan(headLength));
        w.Reset();

        return new PreparedRecord { Record = record, Bytes = bytes, Length = length, HeadLength = headLength };
    }

    [ThreadStatic]
    private static CanonicalJsonWriter? threadWriter;

    private static CanonicalJsonWriter ThreadWriter()
    {
        var w = threadWriter ??= new CanonicalJsonWriter(512);
        w.Reset(); // a previous Prepare on this thread may have thrown half way
        return w;
    }

    /// <summary>The <c>,"time":"...","v":1}</c> tail shared by every entry of a batch.</summary>
    public static byte[] Tail(DateTimeOffset time) =>
        Encoding.UTF8.GetBytes($",\"time\":\"{AuditFormat.FormatTime(time)}\",\"v\":{FormatVersion}}}");

    /// <summary>Writes the body without <c>"sig"</c>; <paramref name="sigOffset"/> is where the sig member goes.</summary>
    public static byte[] EncodeUnsigned(PreparedRecord prepared, long index, byte[] tail, out int sigOffset)
    {
        Span<byte> indexText = stackalloc byte[32];
        ",\"index\":"u8.CopyTo(indexText);
        var prefix = ",\"index\":"u8.Length;
        if (!index.TryFormat(indexText[prefix..], out var digits, default, System.Globalization.CultureInfo.InvariantCulture) || index < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        indexText = indexText[..(prefix + digits)];
        var body = new byte[prepared.Head.Length + indexText.Length + prepared.Middle.Length + tail.Length];
        var span = body.AsSpan();
        prepared.Head.CopyTo(span);
        span = span[prepared.Head.Length..];
        indexText.CopyTo(span);
        span = span[indexText.Length..];
        prepared.Middle.CopyTo(span);
        tail.CopyTo(span[prepared.Middle.Length..]);
        sigOffset = body.Length - tail.Length;
        return body;
    }

    /// <summary>Writes the body without <c>"sig"</c> at <paramref name="time"/>.</summary>
    public static byte[] EncodeUnsigned(PreparedRecord prepared, long index, DateTimeOffset time, out int sigOffset) =>
        EncodeUnsigned(prepared, index, Tail(time), out sigOffset);

    /// <summary>Inserts the <c>"sig"</c> member into an unsigned body.</summary>
    public static byte[] Seal(byte[] unsigned, int sigOffset, ReadOnlySpan<byte> signature)
    {
        var sig = Encoding.ASCII.GetBytes(AuditFormat.ToBase64Url(signature));
        var body = new byte[unsigned.Length + SigMemberPrefix.Length + sig.Length + 1];
        var span = body.AsSpan();
        unsigned.AsSpan(0, sigOffset).CopyTo(span);
        span = span[sigOffset..];
        SigMemberPrefix.CopyTo(span);
        span = span[SigMemberPrefix.Length..];
        sig.CopyTo(span);
        span[sig.Length] = (byte)'"';
        unsigned.AsSpan(sigOffset).CopyTo(span[(sig.Length + 1)..]);
        return body;
    }

    /// <summary>The bytes the agent signed: the body with its top-level <c>"sig"</c> member cut out.</summary>
    public static byte[] SignedBytes(ReadOnlySpan<byte> body, in EntryInspection inspection)
    {
        var message = new byte[body.Length - (inspection.SigEnd - inspection.SigStart)];
        body[..inspection.SigStart].CopyTo(message);
        body[inspection.SigEnd..].CopyTo(message.AsSpan(inspection.SigStart));
        return message;
    }

    /// <summary>Reads the index, agent key and signature of a body, and where its sig member is. False when the
    /// body is not an entry (not JSON, not an object, a member missing or malformed).</summary>
    public static bool TryInspect(ReadOnlySpan<byte> body, out EntryInspection inspection)
    {
        inspection = default;
        long? index = null;
        byte[]? key = null;
        byte[]? sig = null;
        int sigStart = -1, sigEnd = -1;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var nameStart = (int)reader.TokenStartIndex;
                if (reader.ValueTextEquals("index"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var i) || index is not null)
                    {
                        return false;
                    }

                    index = i;
                }
                else if (reader.ValueTextEquals("sig"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.String || sig is not null || reader.ValueIsEscaped
                        || nameStart == 0 || body[nameStart - 1] != (byte)','
                        || !AuditFormat.TryFromBase64UrlUtf8(reader.ValueSpan, Ed25519.SignatureSize, out sig))
                    {
                        return false;
                    }

                    sigStart = nameStart - 1;
                    sigEnd = (int)reader.BytesConsumed;
                }
                else if (reader.ValueTextEquals("agent"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || key is not null)
                    {
                        return false;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isKey = reader.ValueTextEquals("key"u8);
                        reader.Read();
                        if (isKey)
                        {
                            if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || key is not null
                                || !AuditFormat.TryFromBase64UrlUtf8(reader.ValueSpan, Ed25519.PublicKeySize, out key))
                            {
                                return false;
                            }
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.BytesConsumed != body.Length
                || index is null || key is null || sig is null)
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }

        inspection = new EntryInspection(index.Value, key, sig, sigStart, sigEnd);
        return true;
    }

    /// <summary>Decodes a stored body into an <see cref="AuditEntry"/>.</summary>
    /// <exception cref="AuditLogException">Code <c>aim_audit_corrupt</c>: the body is not a well-formed entry.</exception>
    public static AuditEntry Decode(byte[] body)
    {
        if (!TryInspect(body, out var inspection))
        {
            throw Corrupt("the stored entry is not a well-formed audit entry");
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            var agent = root.GetProperty("agent");
            if (!AuditFormat.TryParseKind(root.GetProperty("kind").GetString(), out var kind)
                || !AuditFormat.TryParseRisk(root.GetProperty("risk").GetString(), out var risk)
                || !AuditFormat.TryParseTime(root.GetProperty("time").GetString(), out var time))
            {
                throw Corrupt("kind, risk or time is malformed");
            }

            var record = new AuditRecord
            {
                ActionId = root.GetProperty("action_id").GetString()!,
                Kind = kind,
                AgentId = agent.GetProperty("id").GetString()!,
                AgentName = agent.GetProperty("name").GetString()!,
                Capability = root.GetProperty("capability").GetString()!,
                Resource = OptionalString(root, "resource"),
                Risk = risk,
                Decision = root.GetProperty("decision").GetString()!,
                ReasonCode = OptionalString(root, "reason_code"),
                Reason = OptionalString(root, "reason"),
                Outcome = OptionalString(root, "outcome"),
                Error = OptionalString(root, "error"),
                DurationMs = root.TryGetProperty("duration_ms", out var duration) ? duration.GetDouble() : null,
                ArgumentsDigest = OptionalString(root, "arguments_digest"),
                Arguments = OptionalNode(root, "arguments"),
                Result = OptionalNode(root, "result"),
                OnBehalfOf = OptionalString(root, "on_behalf_of"),
                Method = OptionalString(root, "method"),
                Details = OptionalNode(root, "details") as JsonObject,
            };
            return new AuditEntry(inspection.Index, time, record, inspection.AgentKey, inspection.Signature, body, MerkleHash.Leaf(body));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Corrupt(ex.Message, ex);
        }
    }

    private static string? OptionalString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static JsonNode? OptionalNode(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? JsonNode.Parse(value.GetRawText()) : null;

    private static void RawIfSet(CanonicalJsonWriter w, string key, byte[]? canonical)
    {
        if (canonical is not null)
        {
            w.Key(key);
            w.Raw(canonical);
        }
    }

    private static void StringIfSet(CanonicalJsonWriter w, string key, string? value)
    {
        if (value is not null)
        {
            w.Key(key);
            w.String(value);
        }
    }

    private static void Optional(string? value, string name)
    {
        if (value is not null)
        {
            ValidUnicode(value, name);
        }
    }

    private static void Required(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new ArgumentException($"{name} is required.", name);
        }

        ValidUnicode(value, name);
    }

    private static void ValidUnicode(string value, string name)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                throw new ArgumentException($"{name} holds an unpaired UTF-16 surrogate, which JSON cannot carry.", name);
            }
        }
    }

    private static byte[] Canonical(JsonNode node, string name)
    {
        try
        {
            return CanonicalJson.Serialize(node);
        }
        catch (CanonicalJsonException ex)
        {
            throw new ArgumentException($"{name} cannot be canonicalized: {ex.Message}", name, ex);
        }
    }

    private static AuditLogException Corrupt(string why, Exception? inner = null) =>
        new(AuditLogException.Corrupt, $"Audit entry is damaged: {why}.", inner);
}
