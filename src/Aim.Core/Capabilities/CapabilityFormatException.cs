namespace Aim.Capabilities;

/// <summary>A capability, grant or resource pattern string is malformed; the message says what is wrong.</summary>
public sealed class CapabilityFormatException : AimException
{
    /// <summary>The stable error code.</summary>
    public const string ErrorCode = "aim_capability_malformed";

    /// <summary>Creates the exception.</summary>
    public CapabilityFormatException(string message)
        : base(ErrorCode, message)
    {
    }
}
