using System.Buffers.Text;
using System.Globalization;

namespace Aim.Audit;

/// <summary>Shared encodings of the audit JSON: RFC 3339 UTC timestamps with milliseconds, base64url, risk names.</summary>
internal static class AuditFormat
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>Drops sub-millisecond precision so a time survives its JSON round trip unchanged.</summary>
    public static DateTimeOffset TruncateToMilliseconds(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    public static string FormatTime(DateTimeOffset time) =>
        TruncateToMilliseconds(time).UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static bool TryParseTime(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    public static string ToBase64Url(ReadOnlySpan<byte> bytes) => Base64Url.EncodeToString(bytes);

    public static bool TryFromBase64Url(string? text, int expectedLength, out byte[] bytes)
    {
        bytes = [];
        // IsValid first: TryDecodeFromChars throws (FormatException) on a character outside the alphabet.
        if (text is null || text.Length != Base64Url.GetEncodedLength(expectedLength) || !Base64Url.IsValid(text))
        {
            return false;
        }

        var buffer = new byte[expectedLength];
        if (!Base64Url.TryDecodeFromChars(text, buffer, out var written) || written != expectedLength)
        {
            return false;
        }

        // Reject non-canonical encodings (stray bits in the last character) so one key has one spelling.
        if (Base64Url.EncodeToString(buffer) != text)
        {
            return false;
        }

        bytes = buffer;
        return true;
    }

    /// <summary>Decodes canonical unpadded base64url UTF-8 text of exactly <paramref name="expectedLength"/> bytes.</summary>
    public static bool TryFromBase64UrlUtf8(ReadOnlySpan<byte> utf8, int expectedLength, out byte[] bytes)
    {
        bytes = [];
        if (utf8.Length != Base64Url.GetEncodedLength(expectedLength))
        {
            return false;
        }

        var buffer = new byte[expectedLength];
        if (Base64Url.DecodeFromUtf8(utf8, buffer, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != utf8.Length || written != expectedLength)
        {
            return false;
        }

        Span<byte> again = stackalloc byte[utf8.Length];
        if (Base64Url.EncodeToUtf8(buffer, again, out _, out var encoded) != System.Buffers.OperationStatus.Done
            || !again[..encoded].SequenceEqual(utf8))
        {
            return false; // stray bits in the last character: one value, one spelling
        }

        bytes = buffer;
        return true;
    }

    public static string RiskName(RiskLevel risk) => risk switch
    {
        RiskLevel.Auto => "auto",
        RiskLevel.Low => "low",
        RiskLevel.Medium => "medium",
        RiskLevel.High => "high",
        RiskLevel.Critical => "critical",
        _ => throw new ArgumentOutOfRangeException(nameof(risk), risk, "Unknown risk level."),
    };

    public static bool TryParseRisk(string? name, out RiskLevel risk)
    {
        (risk, var ok) = name switch
        {
            "auto" => (RiskLevel.Auto, true),
            "low" => (RiskLevel.Low, true),
            "medium" => (RiskLevel.Medium, true),
            "high" => (RiskLevel.High, true),
            "critical" => (RiskLevel.Critical, true),
            _ => (RiskLevel.Auto, false),
        };
        return ok;
    }

    public static string KindName(AuditEntryKind kind) => kind switch
    {
        AuditEntryKind.Authorized => "authorized",
        AuditEntryKind.Denied => "denied",
        AuditEntryKind.Outcome => "outcome",
        AuditEntryKind.Event => "event",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown audit entry kind."),
    };

    public static bool TryParseKind(string? name, out AuditEntryKind kind)
    {
        (kind, var ok) = name switch
        {
            "authorized" => (AuditEntryKind.Authorized, true),
            "denied" => (AuditEntryKind.Denied, true),
            "outcome" => (AuditEntryKind.Outcome, true),
            "event" => (AuditEntryKind.Event, true),
            _ => (AuditEntryKind.Event, false),
        };
        return ok;
    }
}
