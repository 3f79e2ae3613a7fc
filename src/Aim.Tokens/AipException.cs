using System.Text.Encodings.Web;
using System.Text.Json;

namespace Aim.Tokens;

/// <summary>
/// A token was refused. <see cref="AimException.Code"/> is one of <see cref="AipErrorCodes"/>; <see cref="HttpStatus"/> is
/// the status an HTTP server answers with, and <see cref="ToErrorJson"/> the body (<c>{"error":{"code","message"}}</c>).
/// </summary>
public sealed class AipException : AimException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">One of <see cref="AipErrorCodes"/>.</param>
    /// <param name="message">What was wrong, for people. Never contains key material.</param>
    /// <param name="inner">The underlying failure, if any.</param>
    public AipException(string code, string message, Exception? inner = null)
        : base(code, message, inner)
    {
    }

    /// <summary>401 or 403, per <see cref="AipErrorCodes.HttpStatusFor"/>.</summary>
    public int HttpStatus => AipErrorCodes.HttpStatusFor(Code);

    /// <summary>The AIP error body: <c>{"error":{"code":"…","message":"…"}}</c>.</summary>
    public string ToErrorJson() => ErrorJson(Code, Message);

    /// <summary>Formats an AIP error body for any code and message.</summary>
    public static string ErrorJson(string code, string message)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping: the body is served as application/json, never inlined into HTML, so apostrophes stay readable.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("code", code);
            writer.WriteString("message", message);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static AipException Malformed(string message, Exception? inner = null) => new(AipErrorCodes.TokenMalformed, message, inner);
}
