namespace Aim.Server;

/// <summary>
/// A refusal the API reports as <c>{"error":{"code","message"}}</c> with an HTTP status. Codes are stable;
/// messages never carry internal details (stack traces, SQL, file paths).
/// </summary>
internal sealed class ApiException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public static ApiException BadRequest(string code, string message) => new(400, code, message);

    public static ApiException Unauthorized(string code, string message) => new(401, code, message);

    public static ApiException Forbidden(string code, string message) => new(403, code, message);

    public static ApiException NotFound(string what) => new(404, "not_found", $"No such {what}.");

    public static ApiException Conflict(string code, string message) => new(409, code, message);
}

/// <summary>The stable error codes of the API.</summary>
internal static class ErrorCodes
{
    public const string MalformedJson = "malformed_json";
    public const string InvalidRequest = "invalid_request";
    public const string BodyTooLarge = "body_too_large";
    public const string ApiKeyMissing = "api_key_missing";
    public const string ApiKeyInvalid = "api_key_invalid";
    public const string RoleForbidden = "role_forbidden";
    public const string SignatureMissing = "signature_missing";
    public const string SignatureInvalid = "signature_invalid";
    public const string SignatureExpired = "signature_expired";
    public const string NonceReplayed = "nonce_replayed";
    public const string DigestMismatch = "content_digest_mismatch";
    public const string UnknownKey = "unknown_agent_key";
    public const string AgentSuspended = "agent_suspended";
    public const string AgentRevoked = "agent_revoked";
    public const string InternalError = "internal_error";
}
