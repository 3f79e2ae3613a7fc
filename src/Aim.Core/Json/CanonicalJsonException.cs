namespace Aim.Json;

/// <summary>
/// The input cannot be put into RFC 8785 canonical form: it is not JSON, holds a duplicate key, a number
/// that is not a finite IEEE 754 double, or a string that is not valid Unicode. Code: <c>aim_json_invalid</c>.
/// </summary>
public sealed class CanonicalJsonException : AimException
{
    /// <summary>The stable error code of this failure.</summary>
    public const string ErrorCode = "aim_json_invalid";

    /// <summary>Creates the exception.</summary>
    public CanonicalJsonException(string message, Exception? inner = null)
        : base(ErrorCode, message, inner)
    {
    }
}
